"""Exceptions a person can act on: each message is one sentence that names the fix."""


class RagError(Exception):
    """Base class: the CLI and UI show ``str(error)`` and nothing else."""


class IndexNotFoundError(RagError):
    """No index at the given path."""


class IndexCorruptError(RagError):
    """The index files are damaged or incomplete."""


class IndexMismatchError(RagError):
    """The index was built with another model, dimension or format."""


class EmptyCorpusError(RagError):
    """Nothing indexable was found."""


class InvalidQueryError(RagError):
    """An empty, oversized or otherwise unusable question or option."""


class LLMError(RagError):
    """The configured LLM endpoint failed, timed out or answered nonsense."""
