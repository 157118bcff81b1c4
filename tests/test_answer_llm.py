"""The LLM path of ``Index.ask`` against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fake_llm import FakeLLM

import rag

QUESTION = "Who gave the opening address at the second short course for chief secretaries?"


@pytest.fixture
def llm_index(seed_index: rag.Index):
    """The seed index with its settings pointed at a fake LLM; restored afterwards."""
    original = seed_index.settings
    with FakeLLM() as server:
        seed_index.settings = replace(original, llm_base_url=server.base_url, llm_model="fake", llm_timeout=1.0)
        yield seed_index, server
    seed_index.settings = original


def test_streamed_answer_grows_and_markers_are_renumbered_to_the_cited_passages(llm_index):
    index, server = llm_index
    server.reply = "Jo Yong Won made the opening address [3]. He is a Presidium member [3][9]."
    answers = list(index.ask_stream(QUESTION, k=5))
    assert len(answers) > 2, "tokens arrive one piece at a time"
    assert all(len(a.text) <= len(b.text) for a, b in zip(answers[:-2], answers[1:-1]))
    final = answers[-1]
    assert final.text == "Jo Yong Won made the opening address [1]. He is a Presidium member [1]."
    assert final.grounded and not final.abstained and final.notice is None
    assert len(final.passages) == 1 and len(final.citations) == 1
    sent = server.requests[-1]
    assert sent["stream"] is True and QUESTION in sent["messages"][-1]["content"]
    cited = final.passages[0]
    assert cited.start <= final.citations[0].start < final.citations[0].end <= cited.end


def test_an_answer_citing_nothing_is_flagged_ungrounded(llm_index):
    index, server = llm_index
    server.reply = "It was somebody important [7]."
    answer = index.ask(QUESTION)
    assert not answer.grounded and answer.passages == ()
    assert "ungrounded" in (answer.notice or "")
    assert not re.search(r"\[\d+\]", answer.text)


@pytest.mark.parametrize("mode", ["error", "slow", "garbage"])
def test_llm_failures_fall_back_to_the_offline_answer_and_say_so(llm_index, mode: str):
    index, server = llm_index
    server.mode = mode
    answer = index.ask(QUESTION)
    assert "Jo Yong Won" in answer.text and "[1]" in answer.text
    assert answer.notice and answer.notice.startswith("The LLM failed")


def test_an_llm_abstention_is_an_abstention(llm_index):
    index, server = llm_index
    server.reply = "The documents do not say where the course was held."
    answer = index.ask("Where was the second course held?")
    assert answer.abstained and answer.related and answer.passages == ()
