"""Documents to chunks: whole sentences packed under one heading, with exact offsets in the file.

Each section of a document (the text under one heading path) is cut on its own, so no chunk
straddles a heading. Inside a section, sentences (``rag.sentences``) are packed greedily up to
``chunk_size`` characters; neighbouring chunks share their last whole sentences up to
``chunk_overlap`` characters. A single sentence longer than a chunk (a code block, a table) is
cut by langchain-text-splitters at line, clause and word boundaries. Every chunk is a span of the
document's visible text, mapped back to exact raw offsets and 1-based line numbers.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from .sentences import sentence_spans
from .spans import encode_runs
from .types import Chunk, Document, Parsed, Section

SECTION_SEPARATOR = " › "
MIN_PIECE_WORDS = 10  # shorter sentences are embedded with the next (rag.chunking.dense_texts)
_NEWLINE = re.compile("\n")
# For oversized sentences: lines first, then clauses, then words; a cut inside a word is the last resort.
SEPARATORS = ["\n\n", "\n", "; ", ": ", ", ", " ", ""]


def chunk_document(document: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split ``document`` into chunks whose ``text`` is ``document.text[start:end]``."""
    parsed = document.parsed
    newlines = [match.start() for match in _NEWLINE.finditer(document.text)]
    chunks: list[Chunk] = []
    for block in _blocks(parsed):
        for clean_start, clean_end, path in _pack(parsed.text, block, chunk_size, chunk_overlap):
            start, end = parsed.raw_span(clean_start, clean_end)
            chunks.append(Chunk(
                doc_id=document.doc_id, ordinal=len(chunks), text=document.text[start:end],
                clean_text=parsed.text[clean_start:clean_end], start=start, end=end,
                line_start=bisect_right(newlines, start - 1) + 1,
                line_end=bisect_right(newlines, max(start, end - 1) - 1) + 1,
                section=SECTION_SEPARATOR.join(path), page=_page(parsed, clean_start),
                offsets=encode_runs(parsed.starts, parsed.ends, clean_start, clean_end, start)))
    return chunks


def _blocks(parsed: Parsed) -> Iterator[list[Section]]:
    """Runs of sections that chunks may span: a heading starts a new run, a definition term does not.

    A heading with no text of its own joins the section it introduces.
    """
    block: list[Section] = []
    pending: Section | None = None  # a bare heading waiting for its first subsection
    for number, section in enumerate(parsed.sections):
        if pending is not None:
            section = Section(pending.start, section.end, section.path, pending.soft and section.soft)
            pending = None
        bare = bool(section.path) and parsed.text[section.start : section.end].strip() == section.path[-1]
        if bare and number + 1 < len(parsed.sections):
            pending = section
            continue
        if block and not section.soft:
            yield block
            block = []
        block.append(section)
    if block:
        yield block


Unit = tuple[int, int, tuple[str, ...], bool]  # visible start, end, section path, whole section


def _pack(text: str, block: list[Section], chunk_size: int,
          chunk_overlap: int) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """Chunks of one block: whole small sections or whole sentences, up to ``chunk_size`` characters each.

    Neighbouring chunks cut from the same section share its last sentences up to ``chunk_overlap``;
    a chunk holding several sections is labelled with the path they share.
    """
    units: list[Unit] = []
    for section in block:
        if section.end - section.start <= chunk_size:
            units.append((section.start, section.end, section.path, True))
            continue
        for start, end in sentence_spans(text[section.start : section.end]):
            units.extend((piece_start, piece_end, section.path, False) for piece_start, piece_end
                         in _fit(text, section.start + start, section.start + end, chunk_size))
    begin = 0
    while begin < len(units):
        end = begin + 1
        while end < len(units) and units[end][1] - units[begin][0] <= chunk_size:
            end += 1
        yield units[begin][0], units[end - 1][1], _shared_path([unit[2] for unit in units[begin:end]])
        if end == len(units):
            return
        following = end  # the next chunk repeats the last sentences of a section it continues
        last = units[end - 1]
        while (following - 1 > begin and not units[following - 1][3] and units[following - 1][2] == last[2]
               and units[end][2] == last[2] and last[1] - units[following - 1][0] <= chunk_overlap):
            following -= 1
        begin = following


def _shared_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The longest heading path that every path starts with."""
    shared = paths[0]
    for path in paths[1:]:
        length = 0
        while length < min(len(shared), len(path)) and shared[length] == path[length]:
            length += 1
        shared = shared[:length]
    return shared


def _fit(text: str, start: int, end: int, chunk_size: int) -> list[tuple[int, int]]:
    """One sentence as one piece, or cut into pieces of at most ``chunk_size`` when it is longer."""
    if end - start <= chunk_size:
        return [(start, end)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=0, separators=SEPARATORS,
                                              keep_separator="end", strip_whitespace=True)
    pieces, search_from = [], start
    for piece in splitter.split_text(text[start:end]):
        position = text.find(piece, search_from, end)
        if position < 0:  # the splitter only cuts and strips, so this means a bug, not bad input
            raise ValueError(f"chunk not found in its document: {piece[:60]!r}")
        pieces.append((position, position + len(piece)))
        search_from = position + len(piece)
    return pieces


def _page(parsed: Parsed, clean_start: int) -> int | None:
    """1-based page of a visible offset, for paged formats (PDF); ``None`` otherwise."""
    return bisect_right(parsed.pages, clean_start) if parsed.pages else None


def _heading_path(title: str, section: str) -> list[str]:
    """The document's title, then the chunk's headings that are not the title again."""
    return [title] + [name for name in section.split(SECTION_SEPARATOR) if name and name != title]


def index_text(title: str, section: str, clean_text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: its document's title and section give it context.

    A heading the chunk already starts with is not repeated.
    """
    context = SECTION_SEPARATOR.join(name for name in _heading_path(title, section)
                                     if name not in clean_text[: len(name) + 200])
    return f"{context}\n{clean_text}" if context else clean_text


def dense_texts(title: str, section: str, clean_text: str, unit: str, limit: int) -> list[str]:
    """What is embedded for a chunk: the chunk as indexed (``unit="chunk"``), or each of its sentences after
    the chunk's title and heading path (``"sentence"``), so a sentence is read in its place.

    A sentence under ``MIN_PIECE_WORDS`` words joins the next one ("Nov." or "Then speeches were made."
    alone would be little but the title); a chunk with more than ``limit`` sentences has its last ones
    embedded together.
    """
    if unit == "chunk":
        return [index_text(title, section, clean_text)]
    context = SECTION_SEPARATOR.join(name for name in _heading_path(title, section) if name)
    pieces: list[str] = []
    for start, end in sentence_spans(clean_text):
        text = " ".join(clean_text[start:end].split())
        if pieces and len(pieces[-1].split()) < MIN_PIECE_WORDS:
            pieces[-1] = f"{pieces[-1]} {text}"
        elif text:
            pieces.append(text)
    if len(pieces) > 1 and len(pieces[-1].split()) < MIN_PIECE_WORDS:
        pieces[-2:] = [" ".join(pieces[-2:])]
    pieces = pieces or [" ".join(clean_text.split())]
    if len(pieces) > limit:
        pieces = [*pieces[: limit - 1], " ".join(pieces[limit - 1 :])]
    return [f"{context}\n{text}" if context else text for text in pieces]
