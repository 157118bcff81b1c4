"""Overlapping passages of one document shown once: neighbouring chunks share text, and two cards with
the same sentences tell a reader nothing new.

A merged passage spans its parts exactly (``text == file[start:end]`` still holds), so evidence
offsets from any part land in it unchanged; the numbers say which ``[n]`` markers it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag import Passage


def merge_passages(passages: Sequence[Passage]) -> list[tuple[Passage, tuple[int, ...]]]:
    """``(passage, numbers)`` per run of overlapping passages of a document, ordered by their first number.

    ``numbers`` are the 1-based positions in ``passages`` (the ``[n]`` of an answer) that the merged
    passage holds, ascending. Example: chunks at 0-1200 and 1000-2200 of ``a.txt`` cited as [1] and
    [3], and one of ``b.txt`` as [2], give ``[(a.txt 0-2200, (1, 3)), (b.txt, (2,))]``.
    """
    by_document: dict[str, list[tuple[int, Passage]]] = {}
    for number, passage in enumerate(passages, 1):
        by_document.setdefault(passage.doc_id, []).append((number, passage))
    runs: list[list[tuple[int, Passage]]] = []
    for numbered in by_document.values():
        numbered.sort(key=lambda item: (item[1].start, item[1].end))
        for number, passage in numbered:
            if runs and runs[-1][0][1].doc_id == passage.doc_id and passage.start < max(p.end for _, p in runs[-1]):
                runs[-1].append((number, passage))
            else:
                runs.append([(number, passage)])
    merged = [(_joined([passage for _, passage in run]), tuple(sorted(number for number, _ in run))) for run in runs]
    return sorted(merged, key=lambda item: item[1][0])


def _joined(parts: list[Passage]) -> Passage:
    """One passage covering ``parts`` (overlapping, sorted by start): the first one's fields, widened."""
    first = parts[0]
    if len(parts) == 1:
        return first
    text, end = first.text, first.end
    for part in parts[1:]:
        if part.end > end:
            text += part.text[end - part.start :]
            end = part.end
    sections = list(dict.fromkeys(part.section for part in parts if part.section))
    return replace(first, text=text, end=end, line_end=max(part.line_end for part in parts),
                   score=max(part.score for part in parts), rank=min(part.rank for part in parts),
                   clean_text="", section="; ".join(sections))
