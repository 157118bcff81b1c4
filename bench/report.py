"""Results to a markdown table and to JSON: each measurement beside the baseline it was measured
against in the same run, their ratio, and the goal where there is one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.words import count

Row = tuple[str, str, str, str, str]  # measurement, value, baseline, ratio, goal


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _goal(value: float, limit: float, text: str = "") -> str:
    return f"{text or f'<= {limit:g}x'} {_verdict(value <= limit)}"


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f} MB"


def _latency(entry: dict[str, Any]) -> str:
    return f"p50 {entry['p50_ms']:.1f} ms, p95 {entry['p95_ms']:.1f} ms"


def ingest_rows(ingest: dict[str, Any], cold: dict[str, Any]) -> list[Row]:
    chunks = ingest["chunks"]

    def rate(seconds: float) -> str:
        return f"{seconds:.1f} s, {chunks / seconds:.0f} chunks/s"

    size = f"{ingest['documents']} docs, {chunks} chunks"
    table: list[Row] = []
    if "ours_s" in cold:
        name = f"cold ingest, `rag ingest --rebuild` in a fresh process ({size}, median of {cold['runs']})"
        if "langchain_s" in cold:
            table.append((name, rate(cold["ours_s"]), "LangChain HuggingFaceEmbeddings + FAISS.from_documents, "
                          f"fresh process, same chunk texts: {rate(cold['langchain_s'])}",
                          f"{cold['ours_over_langchain']:.2f}x", _goal(cold["ours_over_langchain"], 0.5)))
        else:
            table.append((name, rate(cold["ours_s"]), f"LangChain skipped: {cold.get('langchain_skipped')}", "", ""))
        table.append((name, rate(cold["ours_s"]), f"bare `make_embedder(settings).embed` ({ingest['backend']}), fresh "
                      f"process, same chunk texts: {rate(cold['bare_s'])}", f"{cold['ours_over_bare']:.2f}x", ""))
    table.append((f"warm ingest, `rag.build_index(rebuild=True)`, model loaded ({size}, median of "
                  f"{ingest.get('runs', 1)}; load {ingest['model_load_s']:.2f} s, not counted)", rate(ingest["ours_s"]),
                  f"bare `make_embedder(settings).embed` ({ingest['backend']}), same process and chunk texts: "
                  f"{rate(ingest['bare_s'])}", f"{ingest['ours_over_bare']:.2f}x", _goal(ingest["ours_over_bare"], 1.1)))
    return table


def edit_rows(again: dict[str, Any] | None, edit: dict[str, Any] | None) -> list[Row]:
    table: list[Row] = []
    if again:
        full = f"warm full ingest: {again['full_s']:.2f} s"
        table.append((f"re-ingest, one file changed ({count(again['one_changed_embedded'], 'chunk')} embedded)",
                      f"{again['one_changed_s']:.2f} s", full, f"{again['one_changed_over_full']:.1%}", ""))
        table.append((f"re-ingest, nothing changed ({count(again['nothing_changed_embedded'], 'chunk')} embedded)",
                      f"{again['nothing_changed_s']:.2f} s", full, f"{again['nothing_changed_over_full']:.1%}", ""))
    if edit:
        table.append((f"re-ingest after editing one paragraph of a {edit['pages']}-page file "
                      f"({edit['characters']:,} characters; {edit['edited_embedded']} of {edit['chunks']} chunks embedded)",
                      f"{edit['edited_s']:.2f} s", f"full ingest of that file ({edit['full_embedded']} chunks embedded): "
                      f"{edit['full_s']:.1f} s", f"{edit['edited_over_full']:.1%}",
                      _goal(edit["edited_over_full"], 0.05, "<= 5%")))
    return table


def query_rows(query: dict[str, Any]) -> list[Row]:
    baseline = f"bare query encode (past the cache) + IndexFlatIP: {_latency(query['baseline'])}"
    table: list[Row] = []
    for row in ("dense", "bm25", "hybrid", "ask"):
        name = "`index.ask`" if row == "ask" else f"`index.search(mode={row!r})`"
        ratio = query[f"{row}_over_baseline_p50"]
        table.append((f"warm {name}, {query[row]['n']} distinct questions", _latency(query[row]), baseline,
                      f"p50 {ratio:.2f}x, p95 {query[f'{row}_over_baseline_p95']:.2f}x",
                      _goal(ratio, 1.3, "p50 <= 1.3x") if row == "hybrid" else ""))
    return table


def process_rows(cold: dict[str, Any] | None, memory: dict[str, Any] | None) -> list[Row]:
    table: list[Row] = []
    if cold:
        baseline = f"`python -c 'import sentence_transformers'`: {cold['import_sentence_transformers_s']:.2f} s"
        for command, goal in (("ask", _goal(cold["ask_ratio"], 0.35)), ("search", "")):
            table.append((f"cold `rag {command} Q --index SEEDS` (median of {cold['runs']}, interleaved)",
                          f"{cold[f'rag_{command}_s']:.2f} s", baseline, f"{cold[f'{command}_ratio']:.2f}x", goal))
    if memory:
        imported = memory["import_sentence_transformers_max_rss_bytes"]
        baseline = f"`import sentence_transformers` alone: {_mb(imported)}"
        for key, name in (("ingest_max_rss_bytes", "full ingest"), ("serve_max_rss_bytes", "serving: load + 50 queries")):
            table.append((f"peak RSS, {name} (child process)", _mb(memory[key]), baseline,
                          f"{memory[key] / imported:.2f}x" if imported else "", ""))
    return table


def _index_row(size: str, name: str, entry: dict[str, Any], built: str, exact: dict[str, Any], goal: bool) -> Row:
    verdict = ("recall >= 0.95, p50 <= 5 ms " + _verdict(entry["recall_at_10"] >= 0.95 and entry["p50_ms"] <= 5)
               if goal else "")
    return (f"{size} vectors, {name}", f"{built}, p50 {entry['p50_ms']:.2f} ms, p95 {entry['p95_ms']:.2f} ms",
            f"exact at {size}: p50 {exact['p50_ms']:.2f} ms",
            f"p50 {entry['p50_ms'] / exact['p50_ms']:.2f}x, recall@10 {entry['recall_at_10']:.3f}", verdict)


def scale_rows(scales: list[dict[str, Any]], bm25: dict[str, Any] | None) -> list[Row]:
    table: list[Row] = []
    exact_p50 = {}
    for scale in scales:
        size, exact, hnsw = f"{scale['vectors']:,}", scale["exact"], scale["hnsw"]
        exact_p50[scale["vectors"]] = exact["p50_ms"]
        spread = scale.get("spread", {})
        data = (f"{scale.get('real_vectors', 0):,} real + synthetic, cosine to source {scale.get('source_cosine', 1):.2f}; "
                f"exact top 10 from {spread.get('sources_in_top10_mean', 0):.1f} sources (min "
                f"{spread.get('sources_in_top10_min', 0):.0f}); peak RSS {scale.get('peak_rss_mb', 0):,.0f} MB")
        table.append((f"{size} vectors, exact (IndexFlatIP)", f"build {exact['build_s']:.1f} s, {_mb(exact['bytes'])}, "
                      f"p50 {exact['p50_ms']:.2f} ms, p95 {exact['p95_ms']:.2f} ms", data, "recall@10 1.000", ""))
        built = f"build {hnsw['build_s']:.1f} s, {_mb(hnsw['bytes'])}"
        for key, value in hnsw.items():
            if key.startswith("efSearch"):
                name = f"HNSW M={hnsw['M']} efC={hnsw['efConstruction']} {key}"
                table.append(_index_row(size, name, value, built, exact, scale["vectors"] >= 1_000_000))
        pg = scale.get("pgvector")
        if pg and "failed" in pg:
            table.append((f"{size} vectors, pgvector HNSW", "failed", pg["failed"][:200], "", "**failed**"))
        elif pg:
            built = (f"load {pg['load_s']:.1f} s + build {pg['build_s']:.1f} s, table {_mb(pg['table_bytes'])} "
                     f"+ index {_mb(pg['index_bytes'])}")
            for key, value in pg.items():
                if key.startswith("efSearch"):
                    name = f"pgvector HNSW m={pg['m']} efC={pg['ef_construction']} {key}"
                    table.append(_index_row(size, name, value, built, exact, False))
    if bm25:
        flat = exact_p50.get(bm25["chunks"])
        table.append((f"{bm25['chunks']:,} chunks, BM25 (tokenize + bm25s)",
                      f"build {bm25['build_s']:.1f} s, p50 {bm25['p50_ms']:.1f} ms, p95 {bm25['p95_ms']:.1f} ms",
                      f"IndexFlatIP at {bm25['chunks']:,}: p50 {flat:.2f} ms" if flat else "no dense row at this size",
                      f"p50 {bm25['p50_ms'] / flat:.2f}x" if flat else "", ""))
    return table


def rows(results: dict[str, Any]) -> list[Row]:
    """One row per measurement, for whatever parts of the bench ran."""
    table: list[Row] = []
    if results.get("ingest"):
        table += ingest_rows(results["ingest"], results.get("ingest_cold", {}))
    table += edit_rows(results.get("reingest"), results.get("edit"))
    if results.get("query"):
        table += query_rows(results["query"])
    table += process_rows(results.get("cold_start"), results.get("memory"))
    table += scale_rows(results.get("scale", []), results.get("bm25_scale"))
    table += [(f"{step} rows", "failed", error.replace("|", "/").replace("\n", " ")[:300], "", "**failed**")
              for step, error in results.get("failed", {}).items()]
    return table


def markdown(results: dict[str, Any]) -> str:
    lines = ["| measurement | value | baseline (same run) | ratio | goal |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows(results)]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
