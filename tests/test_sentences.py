"""The sentence segmenter: hand-checked tricky cases, offset invariants, and linear time."""

from __future__ import annotations

import time

import pytest

from rag.sentences import sentence_spans, sentences

TRICKY: list[tuple[str, list[str]]] = [
    # abbreviations and initials
    ("Dr. Smith arrived. He sat down.", ["Dr. Smith arrived.", "He sat down."]),
    ("Use a tool, e.g. this one. Then stop.", ["Use a tool, e.g. this one.", "Then stop."]),
    ("Fruit, i.e. apples, is good. Eat it.", ["Fruit, i.e. apples, is good.", "Eat it."]),
    ("He joined the U.S. Army in 1942. He left.", ["He joined the U.S. Army in 1942.", "He left."]),
    ("She moved to the U.S. The move was hard.", ["She moved to the U.S.", "The move was hard."]),
    ("It was found by Glenn T. Seaborg in 1944.", ["It was found by Glenn T. Seaborg in 1944."]),
    ("W. E. B. Du Bois wrote it. It sold well.", ["W. E. B. Du Bois wrote it.", "It sold well."]),
    ("The St. Kazimierz church is old. Visit it.", ["The St. Kazimierz church is old.", "Visit it."]),
    ("Mr. and Mrs. Jones met Prof. Lee.", ["Mr. and Mrs. Jones met Prof. Lee."]),
    ("It was Kramer vs. Kramer. A film.", ["It was Kramer vs. Kramer.", "A film."]),
    ("Apples, pears, etc. are fruit. So are plums.", ["Apples, pears, etc. are fruit.", "So are plums."]),
    ("We sell apples, pears, etc. The rest is sold out.", ["We sell apples, pears, etc.", "The rest is sold out."]),
    ("See No. 5 for details. It helps.", ["See No. 5 for details.", "It helps."]),
    ("He works at Apple Inc. The company is big.", ["He works at Apple Inc.", "The company is big."]),
    (
        "The show ran from 12:00 to 6:00 p.m. Eastern Time. It ended.",
        ["The show ran from 12:00 to 6:00 p.m. Eastern Time.", "It ended."],
    ),
    # numbers and versions
    ("Python 3.11.2 added this. It costs 2.5 million.", ["Python 3.11.2 added this.", "It costs 2.5 million."]),
    ("Install v1.2.3 now. Then restart.", ["Install v1.2.3 now.", "Then restart."]),
    ("The war ended in 1945. 1946 was quiet.", ["The war ended in 1945.", "1946 was quiet."]),
    # quotes, brackets, other marks
    ('He said "go." Then he left.', ['He said "go."', "Then he left."]),
    ('"Is it?" she asked. "Yes!" Fine.', ['"Is it?" she asked.', '"Yes!"', "Fine."]),
    ("It failed (again.) We retried.", ["It failed (again.)", "We retried."]),
    ("Wait... What happened? Nothing! Fine.", ["Wait...", "What happened?", "Nothing!", "Fine."]),
    ('It was "a non-issue . . . a diversion." True.', ['It was "a non-issue . . . a diversion."', "True."]),
    # list items
    ("Steps:\n- install it\n- run it\n* check it", ["Steps:", "- install it", "- run it", "* check it"]),
    ("1. Install it.\n2. Run it\n3) Check it", ["1. Install it.", "2. Run it", "3) Check it"]),
    ("- a long item that wraps\n  onto a second line\n- next", ["- a long item that wraps\n  onto a second line", "- next"]),
    # headings, code, tables, paragraphs
    ("# Install\nRun the installer. It is fast.", ["# Install", "Run the installer.", "It is fast."]),
    ("Introduction\nThis tool answers questions.", ["Introduction", "This tool answers questions."]),
    (
        "Example:\n```python\nimport os\nprint(os.getcwd())\n```\nDone.",
        ["Example:", "```python", "import os", "print(os.getcwd())", "```", "Done."],
    ),
    ("Run this:\n    x = compute(a)\n    print(x)\nIt prints.", ["Run this:", "x = compute(a)", "print(x)", "It prints."]),
    ("| name | age |\n| --- | --- |\n| Ann | 3 |", ["| name | age |", "| --- | --- |", "| Ann | 3 |"]),
    ("First paragraph without a stop\n\nSecond one.", ["First paragraph without a stop", "Second one."]),
    (
        "The river flows through the\ncity and into the sea. It is long.",
        ["The river flows through the\ncity and into the sea.", "It is long."],
    ),
    (
        "The committee met in the capital on a cold morning and after\nLong debate it voted. It adjourned.",
        ["The committee met in the capital on a cold morning and after\nLong debate it voted.", "It adjourned."],
    ),
    ("Title line\nSubtitle line\n\nBody text here.", ["Title line", "Subtitle line", "Body text here."]),
    (
        "Overview\nThe tool indexes files.\nFeatures\nFast search\nOffline use",  # HTML blocks become lines
        ["Overview", "The tool indexes files.", "Features", "Fast search", "Offline use"],
    ),
    (
        "The report was written for the board by the chief engineer, Dr.\nJones, in the spring of 2020. It was late.",
        ["The report was written for the board by the chief engineer, Dr.\nJones, in the spring of 2020.", "It was late."],
    ),
    ("Windows lines.\r\nSecond line\r\n\r\nThird.", ["Windows lines.", "Second line", "Third."]),
    ("", []),
    ("   \n\n  ", []),
]


@pytest.mark.parametrize(("text", "expected"), TRICKY, ids=[text[:30] for text, _ in TRICKY])
def test_tricky_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def _check_invariants(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text), "sorted and disjoint"
        assert text[start:end] == text[start:end].strip(), "whitespace trimmed"
        assert not text[previous_end:start].strip(), "no non-space character between spans"
        previous_end = end
    assert not text[previous_end:].strip(), "no non-space character after the last span"


@pytest.mark.parametrize("text", [text for text, _ in TRICKY] + [" \n lead. And trail \n", "x", ".", "\n\n- \n#", "a.\n\nb!?"])
def test_offsets_are_exact_ordered_and_cover_every_character(text: str) -> None:
    _check_invariants(text)


def test_invariants_on_a_mixed_markdown_document() -> None:
    text = "\n\n".join(text for text, _ in TRICKY) * 20
    _check_invariants(text)
    assert len(sentence_spans(text)) == 20 * sum(len(expected) for _, expected in TRICKY)


@pytest.mark.parametrize(
    "text",
    [
        "word " * 200_000,  # 1 MB without any period
        "a. " * 350_000,  # 1 MB of candidate ends that are not ends
        "A. " * 350_000,  # 1 MB of initials
        "Go. " * 250_000,  # 1 MB of real ends
        "line\n" * 200_000,  # 1 MB of short lines
        "." * 1_000_000 + "x",  # a run of marks that never ends a sentence
        "(" * 1_000_000,
        "x" * 1_000_000,
    ],
    ids=["no-period", "a-dot", "initials", "many-sentences", "many-lines", "dots", "brackets", "one-word"],
)
def test_linear_time_on_a_megabyte(text: str) -> None:
    started = time.perf_counter()
    spans = sentence_spans(text)
    assert time.perf_counter() - started < 5.0
    assert spans and spans[0][0] == 0
