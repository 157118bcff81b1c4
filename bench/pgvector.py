"""pgvector's HNSW over the same rows as the FAISS scale row: build, size, latency, recall@10 against exact.

The server is the bundled one (``rag.store.postgres.server``, as ``rag postgres start`` runs it),
in a folder of its own under the bench's work folder, stopped afterwards. The index is the one
``rag``'s PostgreSQL store makes (``vector_ip_ops``, pgvector's defaults m=16, ef_construction=64).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .query import percentiles

log = logging.getLogger(__name__)

EF_SEARCH = (40, 100, 200)  # 40 is pgvector's default


def pgvector_at(data: Any, query_rows: Any, truth: Any, folder: Path, ef_search: Sequence[int] = EF_SEARCH
                ) -> dict[str, Any]:
    import numpy as np
    import psycopg
    from pgvector.psycopg import register_vector

    from rag.store.postgres import server

    url = server.start(folder)
    result: dict[str, Any] = {"vectors": len(data), "m": 16, "ef_construction": 64}
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            register_vector(connection)
            connection.execute("DROP TABLE IF EXISTS bench_vectors")
            connection.execute(f"CREATE TABLE bench_vectors (id bigint PRIMARY KEY, embedding vector({data.shape[1]}))")
            log.info("pgvector %d: loading rows", len(data))
            started = time.perf_counter()
            with connection.cursor() as cursor, cursor.copy(
                    "COPY bench_vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "vector"])
                for row in range(len(data)):
                    copy.write_row((row, data[row]))
            result["load_s"] = time.perf_counter() - started
            log.info("pgvector %d: building HNSW", len(data))
            connection.execute("SET maintenance_work_mem = '2GB'")
            started = time.perf_counter()
            connection.execute("CREATE INDEX bench_vectors_hnsw ON bench_vectors USING hnsw (embedding vector_ip_ops)")
            result["build_s"] = time.perf_counter() - started
            result["table_bytes"], result["index_bytes"] = connection.execute(
                "SELECT pg_table_size('bench_vectors'), pg_relation_size('bench_vectors_hnsw')").fetchone()
            for ef in ef_search:
                connection.execute(f"SET hnsw.ef_search = {int(ef)}")
                samples, found = [], []
                for query in query_rows:
                    started = time.perf_counter()
                    rows = connection.execute("SELECT id FROM bench_vectors ORDER BY embedding <#> %s LIMIT %s",
                                              [np.asarray(query, dtype=np.float32), truth.shape[1]]).fetchall()
                    samples.append(time.perf_counter() - started)
                    found.append([row[0] for row in rows])
                recall = np.mean([len(set(found[row]) & set(truth[row].tolist())) / truth.shape[1]
                                  for row in range(len(truth))])
                result[f"efSearch={ef}"] = {**percentiles(samples), "recall_at_10": float(recall)}
            connection.execute("DROP TABLE bench_vectors")
    finally:
        server.stop(folder)
    return result
