"""Results to a markdown table (one row per measurement, with its goal) and to JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _goal(value: float, limit: float) -> str:
    return "met" if value <= limit else "**missed**"


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f} MB"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measurement, value, ratio, goal) rows for whatever parts of the bench ran."""
    table: list[tuple[str, str, str, str]] = []
    ingest = results.get("ingest")
    if ingest:
        chunks = ingest["chunks"]
        table.append(("model load (once per process)", f"{ingest['model_load_s']:.2f} s", "", ""))
        table.append((f"full ingest, this project ({ingest['documents']} docs, {chunks} chunks)",
                      f"{ingest['ours_s']:.1f} s, {chunks / ingest['ours_s']:.0f} chunks/s", "", ""))
        table.append((f"full ingest, bare SentenceTransformer.encode (batch {ingest['batch_size']})",
                      f"{ingest['bare_s']:.1f} s, {chunks / ingest['bare_s']:.0f} chunks/s",
                      f"ours/bare {ingest['ours_over_bare']:.2f}", f"<= 1.10 {_goal(ingest['ours_over_bare'], 1.10)}"))
        if "langchain_s" in ingest:
            table.append(("full ingest, LangChain FAISS.from_documents",
                          f"{ingest['langchain_s']:.1f} s, {chunks / ingest['langchain_s']:.0f} chunks/s",
                          f"ours/LangChain {ingest['ours_over_langchain']:.2f}",
                          f"<= 1.0 {_goal(ingest['ours_over_langchain'], 1.0)}"))
    again = results.get("reingest")
    if again:
        table.append(("re-ingest, one file changed", f"{again['one_changed_s']:.2f} s",
                      f"of full {again['one_changed_over_full']:.1%}", "<= 5% + constant"))
        table.append(("re-ingest, nothing changed", f"{again['nothing_changed_s']:.2f} s",
                      f"of full {again['nothing_changed_over_full']:.1%}", ""))
    query = results.get("query")
    if query:
        for row in ("baseline", "dense", "bm25", "hybrid", "ask"):
            name = "baseline (bare encode + IndexFlatIP)" if row == "baseline" else (
                "index.ask" if row == "ask" else f"index.search mode={row}")
            ratio = goal = ""
            if row == "hybrid":
                ratio = f"hybrid/baseline {query['hybrid_over_baseline_p50']:.2f}"
                goal = f"<= 1.3 {_goal(query['hybrid_over_baseline_p50'], 1.3)}"
            table.append((f"warm query, {name}", f"p50 {query[row]['p50_ms']:.1f} ms, p95 {query[row]['p95_ms']:.1f} ms",
                          ratio, goal))
    cold = results.get("cold_start")
    if cold:
        table.append(("cold start, `python -c 'import sentence_transformers'`",
                      f"{cold['import_sentence_transformers_s']:.2f} s", "", ""))
        table.append(("cold start, `rag search Q --index IDX` (median of 3)", f"{cold['rag_search_s']:.2f} s",
                      f"{cold['ratio']:.2f}x", f"<= 1.2x {_goal(cold['ratio'], 1.2)}"))
    memory = results.get("memory")
    if memory:
        table.append(("peak RSS, full ingest (child process)", _mb(memory["ingest_max_rss_bytes"]), "", ""))
        table.append(("peak RSS, serving: load + 50 queries", _mb(memory["serve_max_rss_bytes"]), "", ""))
        table.append(("peak RSS, `import sentence_transformers` alone",
                      _mb(memory["import_sentence_transformers_max_rss_bytes"]), "", ""))
    for scale in results.get("scale", []):
        size = f"{scale['vectors']:,}"
        exact, hnsw = scale["exact"], scale["hnsw"]
        table.append((f"{size} vectors, IndexFlatIP", f"build {exact['build_s']:.1f} s, {_mb(exact['bytes'])}, "
                      f"p50 {exact['p50_ms']:.2f} ms, p95 {exact['p95_ms']:.2f} ms", "recall@10 1.000", ""))
        for key, value in hnsw.items():
            if key.startswith("efSearch"):
                goal = ""
                if scale["vectors"] >= 1_000_000:
                    ok = value["recall_at_10"] >= 0.95 and value["p50_ms"] <= 5
                    goal = "recall >= 0.95, p50 <= 5 ms " + ("met" if ok else "**missed**")
                table.append((f"{size} vectors, HNSW M={hnsw['M']} efC={hnsw['efConstruction']} {key}",
                              f"build {hnsw['build_s']:.1f} s, {_mb(hnsw['bytes'])}, p50 {value['p50_ms']:.2f} ms, "
                              f"p95 {value['p95_ms']:.2f} ms",
                              f"recall@10 {value['recall_at_10']:.3f}" + (
                                  f" (chunks {value['chunk_recall_at_10']:.3f})" if "chunk_recall_at_10" in value else ""),
                              goal))
    bm25 = results.get("bm25_scale")
    if bm25:
        table.append((f"{bm25['chunks']:,} chunks, BM25 (tokenize + bm25s)",
                      f"build {bm25['build_s']:.1f} s, p50 {bm25['p50_ms']:.1f} ms, p95 {bm25['p95_ms']:.1f} ms", "", ""))
    return table


def markdown(results: dict[str, Any]) -> str:
    lines = ["| measurement | value | ratio | goal |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows(results)]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
