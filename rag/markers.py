"""Citation markers ``[n]``: the one place that reads, checks and renumbers them.

An answer cites passage n of its list as ``[n]``. LLMs also write ``[1, 2]`` or ``[ 3 ]``;
``check_citations`` turns those into plain markers and drops the ones that point nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MARKER = re.compile(r"\[(\d{1,3})\]")  # a plain marker, as answers carry them once checked
_LOOSE = r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]"  # what LLMs write: [1], [ 2 ], [1, 3]
_LOOSE_RUN = re.compile(rf"([ \t]*)({_LOOSE}(?:[ \t]*{_LOOSE})*)")


@dataclass(frozen=True)
class CitationCheck:
    """An LLM answer with only markers that point at a passage: ``[1][3]`` in ``text``, ``cited == (1, 3)``."""

    text: str
    cited: tuple[int, ...]  # sorted unique 1-based passage numbers left in ``text``
    grounded: bool  # at least one valid marker remains


def check_citations(text: str, n_passages: int) -> CitationCheck:
    """Drop markers that point at no passage and write ``[1, 2]`` as ``[1][2]``.

    >>> check_citations("Paris [1, 7].", 5)
    CitationCheck(text='Paris [1].', cited=(1,), grounded=True)
    """
    cited: set[int] = set()

    def rewrite(match: re.Match[str]) -> str:
        numbers = dict.fromkeys(int(number) for number in re.findall(r"\d+", match.group(2)))
        valid = [number for number in numbers if 1 <= number <= n_passages]
        cited.update(valid)
        return match.group(1) + "".join(f"[{number}]" for number in valid) if valid else ""

    tidy = _LOOSE_RUN.sub(rewrite, text).strip()
    return CitationCheck(text=tidy, cited=tuple(sorted(cited)), grounded=bool(cited))


def renumber(text: str, cited: Sequence[int]) -> tuple[str, list[int]]:
    """Markers become 1..n in order of first use; returns the text and the old numbers in new order.

    >>> renumber("A [3]. B [1][3].", cited=[1, 3])
    ('A [1]. B [2][1].', [3, 1])
    """
    order = [int(number) for number in dict.fromkeys(MARKER.findall(text)) if int(number) in cited]
    mapping = {old: new for new, old in enumerate(order, 1)}
    renumbered = MARKER.sub(lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", text)
    return renumbered, order
