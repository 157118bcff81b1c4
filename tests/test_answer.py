"""The offline answerer on the seeds with the real model: cited facts, honest abstention, follow-ups."""

from __future__ import annotations

import re

import pytest
from conftest import SEEDS

import rag
from rag.answer.questions import fits_kind, is_follow_up, qualifiers, question_kind, search_query
from rag.sentences import sentence_spans


def assert_markers_point_at_passages(answer: rag.Answer) -> None:
    markers = {int(number) for number in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == set(range(1, len(answer.passages) + 1))
    for citation in answer.citations:
        passage = answer.passages[citation.marker - 1]
        assert passage.start <= citation.start < citation.end <= passage.end
        file_text = (SEEDS / passage.source).read_text(encoding="utf-8")
        assert file_text[citation.start : citation.end] == citation.text


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Who gave the opening address at the second short course for chief secretaries?", "Jo Yong Won"),
        ("Who made the opening address at the first course in 2021?", "Kim Jong Un"),
        ("When did the second short course take place?", "January 25 to 28"),
        ("Where was the first short course held?", "conference hall"),
    ],
)
def test_answers_state_the_fact_and_cite_it(seed_index: rag.Index, question: str, fact: str):
    answer = seed_index.ask(question)
    assert not answer.abstained
    assert fact in answer.text
    assert_markers_point_at_passages(answer)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How do I bake sourdough bread?", "How many participants attended the second course?"],
)
def test_questions_the_documents_cannot_answer_are_abstained(seed_index: rag.Index, question: str):
    answer = seed_index.ask(question)
    assert answer.abstained
    assert answer.text.startswith("The documents do not say")
    assert answer.passages == () and "[1]" not in answer.text
    assert answer.related, "the closest passages are offered as possibly related"


def test_a_follow_up_borrows_the_previous_question(seed_index: rag.Index):
    first = "Who gave the opening address at the second short course in 2024?"
    answer = seed_index.ask("And who gave lectures there?", history=[first])
    assert "2024" in answer.search_query
    assert answer.passages and answer.passages[0].source == "000_0220f7c6bd20be88.txt"
    assert "Ri Il Hwan" in answer.text


def test_question_helpers():
    assert question_kind("When was it held?") == "when"
    assert question_kind("How many lectures were there?") == "how many"
    assert question_kind("Where did it open?") == "where"
    assert question_kind("Who spoke?") == "who"
    assert question_kind("What was studied?") == "what"
    assert is_follow_up("And who spoke there?") and not is_follow_up("Who opened the first course in 2021?")
    assert search_query("Who spoke?", []) == "Who spoke?"
    text = "First one. Second one?\n\nThird line"
    assert [text[a:b] for a, b in sentence_spans(text)] == ["First one.", "Second one?", "Third line"]


def test_kinds_qualifiers_and_fitting_sentences():
    assert question_kind("Who gave the opening address when the first course began?") == "who"
    assert question_kind("How long did his report last?") == "how long"
    assert qualifiers("Who lectured at the first course in 2021?") == ["first", "2021"]
    assert qualifiers("Was it the first or the second course?") == []
    assert qualifiers("Where was the inaugural course held?") == ["first"]
    assert not fits_kind("how many", "The course took place from January 25 to 28 in 2024.")
    assert fits_kind("how many", "About 300 secretaries attended.")
    assert fits_kind("where", "It was held at the conference hall of the office building.")
    assert not fits_kind("where", "The course took place from January 25 to 28.")
