"""A sentence-transformers model exported once to ONNX (fp32 and int8): the only step that needs torch.

The export lands in a cache folder keyed by a hash of the model's files, so a changed model is
exported again and an unchanged one never is. int8 is dynamic quantization of the MatMul weights,
per output channel, except the feed-forward output projections, whose inputs carry the outliers
that int8 rounds worst. Measured on 120 seed and Python-docs passages against fp32: per-tensor int8
gave a cosine of 0.90, per-channel on every MatMul 0.987 at worst (0.993 on average), and sparing
the feed-forward outputs 0.995 at worst (0.998 on average), still about 2x faster than fp32.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import RagError

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
EXPORT_VERSION = 2  # bump when the export or quantization changes: old caches are then not reused
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_root() -> Path:
    """``RAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/rag-folder``, else ``~/.cache/rag-folder``."""
    if os.environ.get("RAG_CACHE_DIR"):
        return Path(os.environ["RAG_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-folder"


def model_key(model_dir: Path) -> str:
    """A hash of the model's files (names and bytes), remembered per file stamp so that it is read once."""
    files = sorted(path for path in model_dir.rglob("*") if path.is_file() and ".cache" not in path.parts)
    stamp = hashlib.sha256(repr([EXPORT_VERSION, *((str(path), path.stat().st_size, path.stat().st_mtime_ns)
                                                   for path in files)]).encode()).hexdigest()[:16]
    remembered = cache_root() / "stamps" / stamp
    if remembered.is_file():
        return remembered.read_text(encoding="utf-8").strip()
    digest = hashlib.sha256(str(EXPORT_VERSION).encode())
    for path in files:
        digest.update(path.relative_to(model_dir).as_posix().encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    key = digest.hexdigest()[:16]
    _write_quietly(remembered, key)
    return key


def exported(model_dir: Path) -> Path:
    """The folder holding ``model.onnx``, ``model-int8.onnx``, ``tokenizer.json`` and ``export.json``
    for ``model_dir``, exported now if it is not in the cache yet."""
    target = cache_root() / "onnx" / model_key(model_dir)
    if (target / "export.json").is_file():
        return target
    try:
        import torch  # noqa: F401  # only to say what is missing before a long export
    except ImportError:
        raise RagError(f"No ONNX export of the model {model_dir} in {cache_root()} and torch is not installed "
                       "to make one: run `pip install torch==2.13.0` once (or set RAG_BACKEND=torch).") from None
    log.info("exporting %s to ONNX in %s (once)", model_dir, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        _export(model_dir, work)
        try:
            work.rename(target)  # atomic: readers see no export or a whole one
        except OSError:
            if not (target / "export.json").is_file():  # not another process winning the race
                raise
    except OSError as error:
        raise RagError(f"Cannot write the ONNX export under {cache_root()} ({error.strerror or error}); "
                       "free some space or set RAG_CACHE_DIR to a writable folder.") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _export(model_dir: Path, work: Path) -> None:
    """Trace, quantize and describe the model; the tracer's and quantizer's warnings are about
    generic models and would be printed on a user's first ingest, so they are silenced."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    class LastHiddenState(torch.nn.Module):  # keyword inputs: transformers 5 rejects traced positional ones
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              return_dict=True).last_hidden_state

    module = LastHiddenState(AutoModel.from_pretrained(str(model_dir)).eval())
    example = torch.ones(1, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings(), _quiet_logging():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (), str(work / PRECISIONS["fp32"]),
                          kwargs={"input_ids": example, "attention_mask": example,
                                  "token_type_ids": torch.zeros_like(example)},
                          input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
        quantize_dynamic(str(work / PRECISIONS["fp32"]), str(work / PRECISIONS["int8"]), per_channel=True,
                         weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         nodes_to_exclude=_feed_forward_outputs(work / PRECISIONS["fp32"]))
    shutil.copy(model_dir / "tokenizer.json", work / "tokenizer.json")
    (work / "export.json").write_text(json.dumps({
        "model": str(model_dir), "max_seq_length": _max_seq_length(model_dir), "pooling": _pooling(model_dir),
        "version": EXPORT_VERSION}, indent=2), encoding="utf-8")


def _feed_forward_outputs(model: Path) -> list[str]:
    """The MatMul nodes that project a BERT-style feed-forward layer back to the hidden size."""
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    return [node.name for node in graph.node if node.op_type == "MatMul"
            and node.name.endswith("/output/dense/MatMul") and "/attention/" not in node.name]


@contextmanager
def _quiet_logging() -> Iterator[None]:
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _max_seq_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512


def _pooling(model_dir: Path) -> str:
    config = model_dir / "1_Pooling" / "config.json"
    data = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {"pooling_mode_mean_tokens": True}
    if data.get("pooling_mode_cls_token"):
        return "cls"
    if data.get("pooling_mode_mean_tokens", True):
        return "mean"
    raise RagError(f"The model {model_dir} pools in a way the ONNX backend does not know; set RAG_BACKEND=torch.")


def _write_quietly(path: Path, text: str) -> None:
    """A cache hint: losing it costs one hash of the model files, so a failed write is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        pass
