"""The harness: the eval set itself, span relevance across chunkings, the seeds report, BEIR and SQuAD readers."""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, FakeEmbedder

import rag
from app import eval_cli
from rag.eval import benchmarks, runner
from rag.eval.evalset import EvalSetError, load_eval_set, span_matches
from rag.eval.followups import FollowUp, follow_ups
from rag.eval.harness import evaluate
from rag.eval.squad_answers import Case
from rag.fusion import reciprocal_rank_fusion

EVAL_SET = ROOT / "eval" / "seeds.jsonl"


def _file_text(source: str) -> str:
    with open(SEEDS / source, encoding="utf-8", newline="") as handle:
        return handle.read()


def _passage(source: str, start: int, end: int, rank: int = 1) -> rag.Passage:
    return rag.Passage(text="", score=0.0, rank=rank, source=source, title="", doc_id=source, chunk_id=rank,
                       start=start, end=end, line_start=1, line_end=1)


# --- the eval set -----------------------------------------------------------------------------

def test_eval_set_meets_the_counts_and_quotes_are_verbatim() -> None:
    questions = load_eval_set(EVAL_SET)
    answerable = [question for question in questions if question.answerable]
    assert len(questions) >= 60
    assert len(answerable) >= 40
    assert sum(not question.answerable for question in questions) >= 10
    assert sum(question.follows is not None for question in questions) >= 5
    per_file = {source: sum(any(e.source == source for e in q.evidence) for q in answerable)
                for source in ("000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt")}
    assert min(per_file.values()) >= 15, per_file  # spread over both files
    for question in answerable:
        for evidence in question.evidence:
            assert evidence.quote in _file_text(evidence.source), (question.id, evidence.quote[:60])
    for question in questions:
        if not question.answerable:
            assert not question.evidence and not question.answers, question.id


def test_bad_eval_sets_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="No eval set"):
        load_eval_set(tmp_path / "missing.jsonl")
    good = {"id": "q1", "question": "Who?", "answers": ["Jo"], "evidence": [{"source": "a.txt", "quote": "Jo"}],
            "answerable": True, "kind": "name", "follows": None}
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({**good, "extra": 1}) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="line 1"):
        load_eval_set(broken)
    dangling = tmp_path / "dangling.jsonl"
    dangling.write_text(json.dumps({**good, "follows": "q9"}) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="follows"):
        load_eval_set(dangling)


# --- relevance by span ------------------------------------------------------------------------

def test_span_matches_by_hand() -> None:
    spans = [("a.txt", 10, 20), ("a.txt", 30, 40), ("b.txt", 0, 5)]
    passages = [_passage("a.txt", 0, 10), _passage("a.txt", 19, 31), _passage("a.txt", 20, 30),
                _passage("b.txt", 4, 100), _passage("c.txt", 0, 100)]
    assert span_matches(passages, spans) == [frozenset(), {0, 1}, frozenset(), {2}, frozenset()]


@pytest.mark.parametrize("chunking", [(300, 60), (900, 150)])
def test_relevance_by_span_survives_rechunking(tmp_path: Path, chunking: tuple[int, int]) -> None:
    """At any chunk size, relevant chunks are exactly those sharing characters with a quote, and they cover it."""
    chunk_size, chunk_overlap = chunking
    settings = rag.Settings(index_dir=str(tmp_path / "index"), model="fake", chunk_size=chunk_size,
                            chunk_overlap=chunk_overlap)
    index = rag.build_index(SEEDS, settings=settings, embedder=FakeEmbedder())
    questions = [question for question in load_eval_set(EVAL_SET) if question.answerable]
    for question in questions:
        for evidence in question.evidence:
            text = _file_text(evidence.source)
            start = text.find(evidence.quote)
            quote = set(range(start, start + len(evidence.quote)))
            every_chunk = index.search(question.question, k=10_000, mode="dense", sources=[evidence.source])
            judged = span_matches(every_chunk, [(evidence.source, start, start + len(evidence.quote))])
            covered: set[int] = set()
            for passage, found in zip(every_chunk, judged, strict=True):
                assert text[passage.start : passage.end] == passage.text
                shares = bool(quote & set(range(passage.start, passage.end)))
                assert bool(found) == shares, (question.id, passage.start, passage.end)
                if found:
                    covered |= set(range(passage.start, passage.end))
            # the relevant chunks hold the whole quote (the splitter drops whitespace between chunks)
            assert {i for i in quote if not text[i].isspace()} <= covered, question.id
    report = evaluate(index, EVAL_SET, modes=("bm25",))
    assert report.modes["bm25"].metrics["hit@10"] >= 0.7  # judged by span, keyword search finds most evidence


# --- the harness on the seeds -----------------------------------------------------------------

class _RecordingIndex(rag.Index):
    """A real index that remembers the queries it was asked to search."""

    queries: list[str]

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[rag.Passage]:
        self.queries.append(question)
        return super().search(question, k=k, mode=mode, sources=sources)


def test_follow_ups_without_answers_carry_the_previous_question(seeds_copy: Path, fake_settings: rag.Settings) -> None:
    rag.build_index(seeds_copy, settings=fake_settings, embedder=FakeEmbedder())
    index = _RecordingIndex(fake_settings, FakeEmbedder())
    index.queries = []
    questions = {question.id: question for question in load_eval_set(EVAL_SET)}
    report = evaluate(index, EVAL_SET, modes=("bm25",), answers=False)
    assert report.answers is None
    follow_ups = [q for q in questions.values() if q.follows and q.answerable]
    assert follow_ups
    for question in follow_ups:
        assert f"{questions[question.follows].question} {question.question}" in index.queries  # type: ignore[index]


@pytest.mark.slow
def test_evaluate_on_the_seeds_with_the_real_model(seed_index: rag.Index, tmp_path: Path) -> None:
    report = evaluate(seed_index, EVAL_SET)
    assert list(report.modes) == ["dense", "bm25", "hybrid"]
    assert report.questions >= 60 and report.answerable >= 40
    for mode in report.modes.values():
        names = {"hit@1", "hit@3", "hit@5", "hit@10", "recall@10", "MRR@10", "nDCG@10", "p50 ms", "p95 ms"}
        assert set(mode.metrics) == names
        assert all(0.0 <= mode.metrics[name] <= 1.0 for name in names if "ms" not in name)
        assert mode.hit_curve == sorted(mode.hit_curve) and mode.hit_curve[9] == mode.metrics["hit@10"]
        assert mode.metrics["MRR@10"] <= mode.metrics["hit@10"]
        for miss in mode.misses:
            assert miss.rank is None or miss.rank > 1
            assert all(len(hit["text"]) <= 80 and hit["source"].endswith(".txt") for hit in miss.retrieved)
        assert len(mode.misses) == round((1 - mode.metrics["hit@1"]) * report.answerable)
    assert report.modes["hybrid"].metrics["hit@10"] >= 0.9
    assert report.answers is not None
    for name in ("answer accuracy", "citation precision", "abstention precision", "abstention recall",
                 "follow-up accuracy", "overall accuracy"):
        assert 0.0 <= report.answers[name] <= 1.0, name
    table = report.table()
    assert "hybrid" in table.splitlines()[1] and "nDCG@10" in table and "answer accuracy" in table
    written = report.write(tmp_path / "out")
    assert json.loads(written[0].read_text(encoding="utf-8"))["answerable"] == report.answerable
    assert written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_command_prints_the_table_and_writes_the_report(seed_index: rag.Index, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", str(EVAL_SET), "--index", str(seed_index.path), "--modes", "bm25",
                              "--out", str(tmp_path / "out"), "--no-plot", "--no-answers"])
    assert eval_cli.run(args) == 0
    printed = capsys.readouterr().out
    assert "bm25" in printed and "dense" not in printed.splitlines()[1] and "answer accuracy" not in printed
    assert (tmp_path / "out" / "report.json").exists() and not (tmp_path / "out" / "hit_at_k.png").exists()
    with pytest.raises(rag.InvalidQueryError, match="--beir"):
        eval_cli.run(parser.parse_args(["eval", "--chunk-size", "300"]))


def test_eval_without_an_index_builds_one_of_the_eval_sets_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh folder: no .rag/index anywhere
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", str(EVAL_SET), "--modes", "bm25", "--no-answers"])
    assert eval_cli.run(args) == 0
    assert "hit@1" in capsys.readouterr().out
    assert (tmp_path / ".rag" / "eval" / "report.json").exists() and (tmp_path / ".rag" / "eval" / "hit_at_k.png").exists()
    assert len(list((tmp_path / ".rag" / "eval-index").iterdir())) == 1
    with pytest.raises(rag.InvalidQueryError, match="--docs"):
        eval_cli.run(parser.parse_args(["eval", str(ROOT / "eval" / "pydocs.jsonl")]))


# --- public benchmarks ------------------------------------------------------------------------

CORPUS = [
    {"_id": "d1", "title": "Zebras", "text": "Zebra stripes keep biting flies away. Flies land less often on striped "
                                             "coats than on plain ones, field studies on the savanna show."},
    {"_id": "d2", "title": "Volcanic eruptions and lava flows", "text": "Lava from an eruption in Iceland flowed "
                                                                         "for weeks. Basalt cools into columns."},
    {"_id": "d3", "title": "Baking sourdough bread at home", "text": "A starter of flour and water ferments for "
                                                                      "days before the dough rises."},
]


def _write_beir(folder: Path, compressed: bool = False, flat_qrels: bool = False) -> Path:
    folder.mkdir(parents=True)
    corpus = "".join(json.dumps(doc) + "\n" for doc in CORPUS)
    queries = "".join(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n" for qid, text in
                      [("q1", "why do zebras have stripes against flies"), ("q2", "lava eruption in Iceland"),
                       ("q3", "sourdough starter")])
    if compressed:
        (folder / "corpus.jsonl.gz").write_bytes(gzip.compress(corpus.encode()))
    else:
        (folder / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (folder / "queries.jsonl").write_text(queries, encoding="utf-8")
    qrels = folder / ("qrels-test.tsv" if flat_qrels else "qrels/test.tsv")
    qrels.parent.mkdir(exist_ok=True)
    qrels.write_bytes(b"query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td2\t1\r\nq2\td3\t0\r\n")
    return folder


@pytest.mark.parametrize("layout", [{}, {"compressed": True, "flat_qrels": True}])
def test_read_beir_keeps_judged_queries_and_strips_crlf(tmp_path: Path, layout: dict[str, bool]) -> None:
    benchmark = benchmarks.read_beir(_write_beir(tmp_path / "tiny", **layout))
    assert benchmark.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}  # no "\r" in ids, score 0 dropped
    assert set(benchmark.queries) == {"q1", "q2"}
    assert benchmark.corpus["d1"][0] == "Zebras" and len(benchmark.corpus) == 3
    with pytest.raises(benchmarks.BenchmarkError):
        benchmarks.read_beir(tmp_path)
    (tmp_path / "tiny" / "queries.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(benchmarks.BenchmarkError, match="not a readable BEIR dataset"):
        benchmarks.read_beir(tmp_path / "tiny")


def test_document_ranking_scores_a_document_by_its_best_chunk() -> None:
    names = {"a.html": "A", "b.html": "B", "c.html": "C"}
    assert runner.document_ranking(["b.html", "a.html", "b.html", "c.html"], names) == ["B", "A", "C"]
    assert runner.document_ranking(["b.html", "a.html", "b.html", "c.html"], names, limit=2) == ["B", "A"]


def test_rrf_and_score_run_by_hand() -> None:
    # a: 1/61 + 1/63, b: 1/62 + 1/61, c: 1/63 + 1/62
    assert reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"]]) == ["b", "a", "c"]
    scores = runner.score_run({"q1": ["d3", "d1"], "q2": ["d2"]}, {"q1": {"d1": 1}, "q2": {"d2": 1, "d9": 1}})
    assert scores["nDCG@10"] == pytest.approx((1 / math.log2(3) + 1 / (1 + 1 / math.log2(3))) / 2)
    assert scores["MRR@10"] == pytest.approx(0.75)
    assert scores["Recall@100"] == pytest.approx(0.75)
    assert scores["hit@1"] == pytest.approx(0.5)


def test_file_names_are_safe_and_unique() -> None:
    assert runner.file_name("4983") == "4983.html"
    assert runner.file_name("a/b") != runner.file_name("a_b") and "/" not in runner.file_name("a/b")
    assert not runner.file_name(".hidden").startswith(".")


def test_run_benchmark_on_a_tiny_beir_folder(tmp_path: Path) -> None:
    benchmark = benchmarks.read_beir(_write_beir(tmp_path / "tiny"))
    settings = rag.Settings(model="fake", chunk_overlap=10)
    report = runner.run_benchmark(benchmark, tmp_path / "work", chunk_size=60, settings=settings, embedder=FakeEmbedder())
    assert (report.documents, report.queries) == (3, 2) and report.chunks > 3  # chunked: several per document
    assert set(report.modes) == {"dense", "bm25", "hybrid", "rrf"}
    assert report.modes["bm25"]["nDCG@10"] == 1.0 and report.modes["bm25"]["Recall@100"] == 1.0
    for scores in report.modes.values():
        assert all(0.0 <= scores[name] <= 1.0 for name in ("nDCG@10", "Recall@100", "MRR@10", "hit@1"))
    index = rag.load_index(report.index_dir, settings=settings, embedder=FakeEmbedder())
    assert {doc.title for doc in index.documents()} == {doc["title"] for doc in CORPUS}
    again = FakeEmbedder()
    runner.run_benchmark(benchmark, tmp_path / "work", chunk_size=60, settings=settings, embedder=again)
    assert again.calls == [2]  # the cached index embeds nothing: only the two queries


def test_read_squad_makes_each_paragraph_a_document(tmp_path: Path) -> None:
    squad = {"version": "1.1", "data": [
        {"title": "Super_Bowl_50", "paragraphs": [
            {"context": "The Denver Broncos defeated the Carolina Panthers to win Super Bowl 50.",
             "qas": [{"id": "s1", "question": "Which team defeated the Panthers?", "answers": []}]},
            {"context": "The game was played at Levi's Stadium in Santa Clara.",
             "qas": [{"id": "s2", "question": "In which stadium was the game played?", "answers": []},
                     {"id": "s3", "question": "Which city hosted the stadium, Santa Clara?", "answers": []}]}]},
        {"title": "Warsaw", "paragraphs": [
            {"context": "Warsaw is the capital of Poland, on the Vistula river.",
             "qas": [{"id": "w1", "question": "What river flows through Warsaw?", "answers": []}]}]}]}
    path = tmp_path / "tiny-squad.json.gz"
    path.write_bytes(gzip.compress(json.dumps(squad).encode()))
    benchmark = benchmarks.read_squad(path)
    assert benchmark.name == "tiny-squad"
    assert benchmark.corpus["000-001"] == ("Super Bowl 50", "The game was played at Levi's Stadium in Santa Clara.")
    assert benchmark.qrels == {"s1": {"000-000": 1}, "s2": {"000-001": 1}, "s3": {"000-001": 1}, "w1": {"001-000": 1}}
    report = runner.run_benchmark(benchmark, tmp_path / "work", settings=rag.Settings(model="fake"),
                                embedder=FakeEmbedder(), modes=("bm25",))
    assert report.modes["bm25"]["hit@1"] == 1.0 and set(report.modes) == {"bm25"}
    with pytest.raises(benchmarks.BenchmarkError):
        benchmarks.read_squad(tmp_path / "missing.json")


def test_eval_command_runs_a_beir_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The real model (the CLI's default) on three documents: cheap, and the path a user takes."""
    folder = _write_beir(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--beir", str(folder), "--chunk-size", "200", "--fusion-weights", "0.3"])
    assert eval_cli.run(args) == 0
    printed = capsys.readouterr().out
    assert "rrf" in printed and "hybrid@0.3" in printed and "nDCG@10" in printed
    saved = json.loads((tmp_path / ".rag" / "eval" / "tiny-200.json").read_text(encoding="utf-8"))
    assert saved["queries"] == 2 and (tmp_path / ".rag" / "bench" / "tiny" / "docs" / "d1.html").exists()


def _squad_file(path: Path) -> Path:
    """Four one-paragraph articles (two per half once sorted by title), one question each."""
    facts = {"Zebra": ("Zebras live in Kenya.", "Where do zebras live?", "Kenya"),
             "Apple": ("Apples grow in orchards.", "Where do apples grow?", "orchards"),
             "Moon": ("The Moon orbits the Earth every 27 days.", "How often does the Moon orbit?", "27 days"),
             "Bridge": ("The bridge opened in 1932 over the river.", "When did the bridge open?", "1932")}
    data = [{"title": title, "paragraphs": [{"context": context, "qas": [
        {"id": title, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}]}]}
        for title, (context, question, answer) in facts.items()]
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


def test_squad_halves_draws_and_answer_report(tmp_path: Path) -> None:
    from rag.eval.squad_answers import answer_report, prepare, read_halves

    first, second = read_halves(_squad_file(tmp_path / "squad.json"))
    assert [p.article for p in first] == ["Apple", "Bridge"] and [p.article for p in second] == ["Moon", "Zebra"]
    index, cases = prepare(second, tmp_path / "work", removed=1, seed=0, settings=rag.Settings(model="fake"),
                           embedder=FakeEmbedder())
    assert len(index.documents()) == 1 and sorted(case.answerable for case in cases) == [False, True]
    kept = next(case for case in cases if case.answerable)
    assert index.documents()[0].title == kept.article
    report = answer_report(index, cases)
    assert report["answerable"] == report["unanswerable"] == 1
    assert all(0.0 <= report[name] <= 1.0 for name in ("containment", "answerable abstained", "unanswerable abstained"))


def test_squad_follow_ups_replace_the_name_two_questions_share_with_it() -> None:
    context = "Doctor Who is a British science-fiction programme first broadcast by the BBC in 1963."
    cases = [Case("1", "When did the BBC first broadcast Doctor Who?", ("1963",), "Doctor_Who", True, context),
             Case("2", "Which broadcaster made Doctor Who's first episodes?", ("the BBC",), "Doctor_Who", True, context),
             Case("3", "Who wrote Hamlet?", ("Shakespeare",), "Hamlet", True, "Hamlet is a tragedy.")]
    made = follow_ups(cases)
    assert sorted(made, key=lambda item: item.question) == [
        FollowUp("Which broadcaster made Doctor Who's first episodes?", "When did the BBC first broadcast it?", ("1963",)),
        FollowUp("When did the BBC first broadcast Doctor Who?", "Which broadcaster made its first episodes?",
                 ("the BBC",))]
