"""Counts in words: ``1 chunk``, ``2 chunks``, so no message says "1 chunks"."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """The number with the noun in the form it takes: ``count(1, "chunk")`` is ``1 chunk``."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
