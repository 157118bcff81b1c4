"""Performance benchmarks: ``python -m bench`` (or ``make bench``) prints a markdown table and writes JSON.

Each module owns one group of rows: ``corpus`` (benchmark data to files), ``ingest`` (full and
incremental), ``edit`` (one paragraph of a long file), ``query`` (warm latency), ``process`` (cold
``rag ask``/``rag search`` and peak memory of child processes), ``scale`` (FAISS and BM25 at 100k/1M)
and ``report`` (table and JSON; every row beside its baseline). Ratios are always measured side by
side in one run, because the machine is shared and absolute times drift.
"""
