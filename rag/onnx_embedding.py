"""Texts to unit vectors with ONNX Runtime and ``tokenizers``: the one importer of onnxruntime.

The same model as ``SentenceTransformerEmbedder`` (tokenize, run the transformer, mean-pool,
normalize) without torch at run time: a query vector costs about 1.5 ms instead of 11, and a
process that only searches never pays torch's seconds of import. The model is exported once by
``rag.onnx_export``.

Each text runs alone, one per core at a time: int8 quantizes activations with one range per run,
so a text batched with others got a vector that depended on its neighbours (cosine down to 0.98 with the first int8 export
against itself alone), and without padding one text per run was also the fastest here (23
passages/s on 2 cores against 17 in padded batches of 32). ONNX Runtime sessions run
concurrently, so uploads and questions share one session and no lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DEFAULT_MODEL
from .embedding import resolve_model
from .errors import RagError
from .onnx_export import PRECISIONS, exported

if TYPE_CHECKING:
    import numpy as np


class OnnxEmbedder:
    """A local sentence-transformers model (by name or folder) run by ONNX Runtime in fp32 or int8."""

    def __init__(self, name: str = DEFAULT_MODEL, precision: str = "int8") -> None:
        if precision not in PRECISIONS:
            raise RagError(f"Unknown ONNX precision {precision!r}; use one of {', '.join(PRECISIONS)}.")
        self.name = name
        self.precision = precision

    @property
    def _runtime(self) -> _Runtime:
        return _load(resolve_model(self.name), self.precision)

    @property
    def dimension(self) -> int:
        return self._runtime.dimension

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        import numpy as np

        runtime = self._runtime
        if not texts:
            return np.zeros((0, runtime.dimension), dtype=np.float32)
        encodings = runtime.tokenizer.encode_batch(list(texts))
        if len(encodings) == 1:
            return runtime.run(encodings[0])
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rows = pool.map(runtime.run, encodings)
            if progress:
                from tqdm import tqdm

                rows = tqdm(rows, total=len(encodings), desc="Embedding", unit="text")
            return np.vstack(list(rows))


class _Runtime:
    """One exported model loaded: its tokenizer and an ONNX Runtime session."""

    def __init__(self, folder: Path, precision: str) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        self.pooling = config["pooling"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(config["max_seq_length"]))
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # parallel across texts instead (OnnxEmbedder.embed)
        options.log_severity_level = 3  # warnings about unused initializers are noise on every start
        self.session = onnxruntime.InferenceSession(str(folder / PRECISIONS[precision]), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = {node.name for node in self.session.get_inputs()}
        self.dimension = int(self.run(self.tokenizer.encode("dimension")).shape[1])

    def run(self, encoding: Any) -> np.ndarray:
        """The unit vector of one tokenized text, as a 1-row matrix."""
        import numpy as np

        ids = np.asarray([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {name: feeds[name] for name in self.inputs})[0]
        pooled = hidden[:, 0] if self.pooling == "cls" else hidden.mean(axis=1)
        norm = float(np.linalg.norm(pooled))
        return np.ascontiguousarray(pooled / (norm or 1.0), dtype=np.float32)


@lru_cache(maxsize=4)
def _load(name_or_path: str, precision: str) -> _Runtime:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as error:
        raise RagError(f"The ONNX backend needs onnxruntime and tokenizers ({error}); "
                       "run `pip install onnxruntime tokenizers` or set RAG_BACKEND=torch.") from None
    return _Runtime(exported(_model_folder(name_or_path)), precision)


def _model_folder(name_or_path: str) -> Path:
    """A model folder as given, or a model name already in the Hugging Face cache (never downloaded)."""
    if (Path(name_or_path) / "config.json").is_file():
        return Path(name_or_path)
    from huggingface_hub import snapshot_download

    for repo in (name_or_path, f"sentence-transformers/{name_or_path}"):
        try:
            folder = Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # noqa: BLE001 - any miss (not cached, bad name) means: try the next spelling
            continue
        if (folder / "config.json").is_file():
            return folder
    raise RagError(f"Cannot load embedding model {name_or_path!r}: it is neither a model folder nor in the "
                   "Hugging Face cache; set RAG_MODEL to a local path or an installed model name.")
