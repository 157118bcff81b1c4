"""A chunk's map from its visible text back to the file, stored compactly as runs.

Parsers give every visible character the raw span it stands for; most characters map one to
one, so a chunk's map is a few runs ``(visible start, length, raw start, width)``: visible
character ``i`` of a run stands for ``raw[raw start + (i - visible start) : ... + width]``.
A run of length 1 and width 3 is an entity like ``&lt;``; a whole tag dropped between two
words costs one run. Stored as bytes beside the chunk, decoded only to cite a sentence.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence


def encode_runs(starts: Sequence[int], ends: Sequence[int], first: int, last: int, base: int) -> bytes:
    """Runs for visible characters ``first..last-1``, offsets relative to the chunk (``base`` in both).

    A character extends the run before it when both stand for one raw character and follow each other
    in the file; computed over whole arrays, since a megabyte of text is a million characters."""
    import numpy as np

    raw = np.asarray(starts[first:last], dtype=np.int64) - base
    width = np.asarray(ends[first:last], dtype=np.int64) - base - raw
    if not len(raw):
        return b""
    extends = np.zeros(len(raw), dtype=bool)
    extends[1:] = (width[1:] == 1) & (width[:-1] == 1) & (raw[1:] == raw[:-1] + 1)
    heads = np.flatnonzero(~extends)
    lengths = np.diff(np.append(heads, len(raw)))
    table = np.column_stack([heads, lengths, raw[heads], width[heads]]).astype(np.int64)
    return array("q", table.ravel().tolist()).tobytes()


def raw_span(runs: bytes, start: int, end: int) -> tuple[int, int]:
    """The raw span (relative to the chunk) that visible ``[start, end)`` of the chunk stands for."""
    table = array("q")
    table.frombytes(runs)
    first = last = None
    for index in range(0, len(table), 4):
        visible, length, raw_start, width = table[index : index + 4]
        if first is None and visible + length > start:
            first = raw_start + max(0, start - visible)
        if visible < end:
            last = raw_start + min(end, visible + length) - 1 - visible + width
        else:
            break
    if first is None or last is None:
        raise ValueError(f"visible span {start}-{end} is outside the chunk")
    return first, max(first, last)


def char_spans(runs: bytes) -> list[tuple[int, int]]:
    """The raw span of every visible character of the chunk, in order (for checks and highlighting)."""
    table = array("q")
    table.frombytes(runs)
    found: list[tuple[int, int]] = []
    for index in range(0, len(table), 4):
        _, length, raw_start, width = table[index : index + 4]
        found.extend((raw_start + step, raw_start + step + width) for step in range(length))
    return found
