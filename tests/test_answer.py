"""The offline answerer on the seeds with the real model: cited facts, short answers at exact offsets,
honest abstention, follow-ups that cannot misfire."""

from __future__ import annotations

import re

import pytest
from conftest import SEEDS

import rag
from rag.answer.features import Candidates, candidates, question_terms
from rag.answer.followup import contextual_query, needs_context
from rag.answer.kinds import counted, question_kind, short_answer, typed_phrases
from rag.answer.model import quoted


def assert_markers_point_at_passages(answer: rag.Answer) -> None:
    markers = {int(number) for number in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == set(range(1, len(answer.passages) + 1))
    for citation in answer.citations:
        passage = answer.passages[citation.marker - 1]
        assert passage.start <= citation.start < citation.end <= passage.end
        file_text = (SEEDS / passage.source).read_text(encoding="utf-8")
        assert file_text[citation.start : citation.end] == citation.text
        if citation.answer_start is not None and citation.answer_end is not None:
            assert citation.start <= citation.answer_start < citation.answer_end <= citation.end


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Who gave the opening address at the second short course for chief secretaries?", "Jo Yong Won"),
        ("When did the second short course take place?", "January 25 to 28"),
        ("Where was the first short course held?", "conference hall"),
    ],
)
def test_answers_state_the_fact_and_cite_it(seed_index: rag.Index, question: str, fact: str):
    answer = seed_index.ask(question)
    assert not answer.abstained
    assert fact in answer.text
    assert 1 <= len(answer.citations) <= 2, "one evidence sentence, a second only when the first is uncertain"
    assert_markers_point_at_passages(answer)


def test_a_value_question_opens_with_the_short_answer_located_in_the_file(seed_index: rag.Index):
    answer = seed_index.ask("When did the second short course take place?")
    citation = answer.citations[0]
    assert citation.answer_start is not None and citation.answer_end is not None
    short = (SEEDS / answer.passages[0].source).read_text(encoding="utf-8")[citation.answer_start : citation.answer_end]
    assert answer.text.startswith(f"{short} — ") and "January" in short


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How do I bake sourdough bread?", "Which team won the football world cup in 2018?"],
)
def test_questions_the_documents_cannot_answer_are_abstained(seed_index: rag.Index, question: str):
    answer = seed_index.ask(question)
    assert answer.abstained
    assert answer.text.startswith("The documents do not say")
    assert answer.passages == () and "[1]" not in answer.text
    assert answer.related, "the closest passages are offered as possibly related"
    assert answer.confidence is not None and 0 <= answer.confidence < 1


def test_a_follow_up_borrows_the_previous_question_only_when_it_cannot_stand_alone(seed_index: rag.Index):
    first = "Who gave the opening address at the second short course in 2024?"
    answer = seed_index.ask("And who gave lectures there?", history=[first])
    assert not answer.abstained and "lectures" in answer.text
    assert answer.passages and answer.passages[0].source == "000_0220f7c6bd20be88.txt"  # the 2024 course
    unrelated = seed_index.ask("What is the capital of France?", history=[first])
    assert unrelated.abstained and unrelated.search_query == "What is the capital of France?"


def test_a_follow_up_answers_what_it_newly_asks_not_the_previous_question(seed_index: rag.Index):
    # read in context alone, "it" pulls toward the dates sentence that answered the first question
    answer = seed_index.ask("And who attended it?", history=["When did the second short course take place?"])
    assert not answer.abstained and answer.text.startswith("Attending the short course were chief secretaries")
    assert answer.passages[0].source == "000_0220f7c6bd20be88.txt"


def test_question_kinds_and_typed_phrases():
    assert question_kind("In what year did the war end?") == "year"
    assert question_kind("When was it held?") == "when"
    assert question_kind("How many lectures were there?") == "count"
    assert question_kind("How long did his report last?") == "measure"
    assert question_kind("Where did it open?") == "where"
    assert question_kind("Who spoke?") == "who"
    assert question_kind("Why did it close?") == "why"
    assert question_kind("Which exception is raised when the key is missing?") == "error"  # not "when"
    assert question_kind("What is the error rate?") == "what"
    api = "If the data is not a valid JSON document, a json.JSONDecodeError will be raised."
    assert [phrase.text for phrase in typed_phrases(api) if "error" in phrase.groups] == ["json.JSONDecodeError"]
    sentence = "The treaty was signed in Paris on March 3, 1945, by 12 delegates."
    phrases = typed_phrases(sentence)
    groups = {phrase.text: phrase.groups for phrase in phrases}
    assert "year" in groups["1945"] and "number" in groups["12"] and "place" in groups["Paris"]
    assert short_answer("year", sentence, phrases, {"treati", "sign"}) == "1945"
    assert short_answer("when", sentence, phrases, {"treati", "sign"}) == "March 3, 1945"
    assert short_answer("count", sentence, phrases, {"deleg"}) == "12"
    assert short_answer("who", sentence, phrases, {"sign"}) is None  # names are too often wrong to lead a reply
    ranged = "The course took place from January 25 to 28."
    assert short_answer("when", ranged, typed_phrases(ranged), {"cours", "place"}) == "January 25 to 28"
    question = "According to the change logs, how many patches were applied between Python 2.5 and 2.6?"
    logs = "A search through the change logs finds there were 259 patches applied and 612 bugs fixed between Python 2.5 and 2.6."
    terms = set(question_terms(question))
    assert counted(question) == {"patch"} and counted("How many open bugs were there?") == {"open", "bug"}
    assert short_answer("count", logs, typed_phrases(logs), terms, counted(question)) == "259", "the number of patches"


def test_people_and_places_are_named_entities_not_capitalised_words():
    seed = "The second short course for chief secretaries of the city and county Party committees took place in January."
    groups = {phrase.text: phrase.groups for phrase in typed_phrases(seed)}
    assert groups["Party"] == ("entity",)  # a capitalised word, but not a place the course took place at
    speech = "Jo Yong Won, secretary of the WPK Central Committee, made an opening address in Pyongyang."
    groups = {phrase.text: phrase.groups for phrase in typed_phrases(speech)}
    assert "person" in groups["Jo Yong Won"] and "place" not in groups["Jo Yong Won"]
    assert "place" in groups["Pyongyang"] and "person" not in groups["Pyongyang"]
    assert "person" in groups["WPK Central Committee"]  # an organisation can answer "who"


def test_candidate_positions_count_within_their_paragraph():
    text = "It opened on March 3. Kim Jong Un spoke first.\n\nJo Yong Won made a report. Then speeches were made."
    passage = rag.Passage(text=text, score=1.0, rank=1, source="a.txt", title="A", doc_id="a.txt", chunk_id=0,
                          start=0, end=len(text), line_start=1, line_end=3, clean_text=text)
    found = candidates([passage])
    assert [(item.text, item.position, item.siblings) for item in found] == [
        ("It opened on March 3.", 0, 2), ("Kim Jong Un spoke first.", 1, 2),
        ("Jo Yong Won made a report.", 0, 2), ("Then speeches were made.", 1, 2)]


def test_each_candidate_knows_the_api_entry_it_belongs_to():
    text = ("All of them act on the path.\n\nPath.rmdir()\n\nRemove this directory. The directory must be empty.\n\n"
            "Path.unlink(missing_ok=False)\n\nRemove this file. If the path points to a directory, use Path.rmdir() instead.")
    passage = rag.Passage(text=text, score=1.0, rank=1, source="p.html", title="pathlib", doc_id="p.html", chunk_id=0,
                          start=0, end=len(text), line_start=1, line_end=9, clean_text=text, section="pathlib › Methods")
    labels = {item.text: item.label for item in candidates([passage])}
    assert labels["The directory must be empty."] == "Path.rmdir()"
    assert labels["If the path points to a directory, use Path.rmdir() instead."] == "Path.unlink(missing_ok=False)"
    assert labels["All of them act on the path."] == "Methods"  # above any label line: its section heading


def test_follow_up_rules():
    assert needs_context("And who gave lectures there?") and needs_context("What posts does he hold?")
    assert not needs_context("What is the capital of France?")
    assert not needs_context("Is it safe to use the random module for passwords?")
    assert not needs_context("What did Marie Curie discover and where did she work?")
    assert needs_context("What Party posts does he hold?"), "a capitalised word is not a person for 'he' to point at"
    assert contextual_query("Who spoke there?", []) is None
    assert contextual_query("Who spoke there?", ["When was the course?"]) == "Who spoke there? (When was the course?)"


def test_a_second_sentence_is_quoted_when_the_best_is_uncertain_or_both_are_short(seed_index: rag.Index):
    import numpy as np

    passages = seed_index.search("Who made the opening address at the second short course?", k=3)
    items = candidates(passages)
    found = Candidates("", "who", items, np.zeros((len(items), 1)), [[] for _ in items], ())
    words = [len(item.text.split()) for item in items]
    longest, shortest = int(np.argmax(words)), int(np.argmin(words))
    others = [number for number in range(len(items)) if number not in (longest, shortest)]

    def probabilities(best: int, top: float, runner_up: int) -> np.ndarray:
        values = np.full(len(items), (1 - top - 0.2) / (len(items) - 2))
        values[best], values[runner_up] = top, 0.2
        return values

    assert quoted(found, probabilities(longest, 0.9, shortest), 0.4, 0.7, 200) == [longest]  # sure: one sentence
    assert quoted(found, probabilities(longest, 0.35, others[0]), 0.4, 0.7, 0) == [longest, others[0]]  # unsure: two
    pair = [shortest, others[0]]
    together = words[shortest] + words[others[0]]
    assert quoted(found, probabilities(shortest, 0.6, others[0]), 0.4, 0.7, together) == pair  # short enough to add
    assert quoted(found, probabilities(shortest, 0.6, others[0]), 0.4, 0.7, together - 1) == [shortest]
