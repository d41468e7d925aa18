"""Cutting documents into overlapping chunks of whole sentences, sized in tiktoken tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import tiktoken

from retrieval.ingest.documents import Document
from retrieval.ingest.sentences import sentence_spans

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A slice ``document.text[start:end]`` of whole sentences (or words, for a giant one)."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    n_tokens: int
    # Sentence spans relative to ``text``; sentence vectors are stored in this order.
    sentences: tuple[tuple[int, int], ...] = ()


def chunk_id_for(doc_id: str, ordinal: int, text: str) -> str:
    """Ids derive from content, so an unchanged document yields the same ids again."""
    digest = hashlib.sha256(f"{doc_id}\0{ordinal}\0{text}".encode()).hexdigest()
    return digest[:20]


def _token_cuts(
    text: str, start: int, end: int, enc: tiktoken.Encoding, max_tokens: int
) -> Iterator[tuple[int, int, int]]:
    """Cut ``text[start:end]`` (one word too big for a chunk: a URL, base64, or a run of
    Thai or Chinese with no spaces) into pieces of at most ``max_tokens`` tokens."""
    tokens = enc.encode_ordinary(text[start:end])
    _, offsets = enc.decode_with_offsets(tokens)
    # Token boundaries as character offsets; a token inside a multi-byte character
    # shares its character's offset, so boundaries are deduplicated.
    bounds = sorted({start + o for o in offsets[::max_tokens] if 0 <= o < end - start})
    bounds = [b for b in bounds if b > start] + [end]
    a = start
    for b in bounds:
        if b <= a:
            continue
        n = len(enc.encode_ordinary(text[a:b]))
        if n > max_tokens and b - a > 1:
            # Re-encoding a slice can merge differently; halve until it fits (always ends).
            mid = a + (b - a) // 2
            yield from _token_cuts(text, a, mid, enc, max_tokens)
            yield from _token_cuts(text, mid, b, enc, max_tokens)
        else:
            yield a, b, n
        a = b


def _pieces(text: str, enc: tiktoken.Encoding, max_tokens: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, tokens) of sentences; a sentence over ``max_tokens`` is cut between
    words, and a word over ``max_tokens`` is cut between tokens."""
    for start, end in sentence_spans(text):
        n = len(enc.encode_ordinary(text[start:end]))
        if n <= max_tokens:
            yield start, end, n
            continue
        piece_start, piece_end, piece_tokens = start, start, 0
        for word in _WORD.finditer(text, start, end):
            w = len(enc.encode_ordinary(word.group()))
            if w > max_tokens:
                if piece_tokens:
                    yield piece_start, piece_end, piece_tokens
                yield from _token_cuts(text, word.start(), word.end(), enc, max_tokens)
                piece_start, piece_end, piece_tokens = word.end(), word.end(), 0
                continue
            # Counted as joined, not as a sum of words: the text between two words (a tab,
            # a control character) can cost tokens of its own.
            joined = len(enc.encode_ordinary(text[piece_start : word.end()])) if piece_tokens else w
            if joined > max_tokens:
                yield piece_start, piece_end, piece_tokens
                piece_start, joined = word.start(), w
            elif not piece_tokens:
                piece_start = word.start()
            piece_end, piece_tokens = word.end(), joined
        if piece_tokens:
            yield piece_start, piece_end, piece_tokens


def chunk_document(
    doc: Document, enc: tiktoken.Encoding, max_tokens: int, overlap: int
) -> list[Chunk]:
    """Greedy packing of sentences up to ``max_tokens``; the next chunk starts with the
    trailing sentences of the previous one that fit in ``overlap`` tokens."""
    pieces = list(_pieces(doc.text, enc, max_tokens))
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, total = i, 0
        while j < len(pieces) and total + pieces[j][2] <= max_tokens:
            total += pieces[j][2]
            j += 1
        if j == i:  # cannot happen with _pieces, but never loop without moving on
            total, j = pieces[i][2], i + 1
        # The text between pieces (line breaks, odd spaces) can cost tokens of its own:
        # count the chunk as it will be encoded, and give back pieces until it fits.
        total = len(enc.encode_ordinary(doc.text[pieces[i][0] : pieces[j - 1][1]]))
        while total > max_tokens and j - 1 > i:
            j -= 1
            total = len(enc.encode_ordinary(doc.text[pieces[i][0] : pieces[j - 1][1]]))
        start, end = pieces[i][0], pieces[j - 1][1]
        text = doc.text[start:end]
        spans = tuple((a - start, b - start) for a, b, _ in pieces[i:j])
        chunk_id = chunk_id_for(doc.doc_id, len(chunks), text)
        chunks.append(Chunk(chunk_id, doc.doc_id, text, start, end, total, spans))
        if j >= len(pieces):
            break
        # Step back over whole sentences worth at most `overlap` tokens, always moving on:
        # the overlap leaves room for the next piece, so every chunk ends further on.
        back, k = 0, j
        room = max_tokens - pieces[j][2]
        while k - 1 > i and back + pieces[k - 1][2] <= min(overlap, room):
            k -= 1
            back += pieces[k][2]
        # Counted as encoded, the overlap plus the next piece can still be too big (the
        # text between pieces costs tokens too): give back overlap until they fit, so the
        # next chunk always ends further on.
        while (
            k < j and len(enc.encode_ordinary(doc.text[pieces[k][0] : pieces[j][1]])) > max_tokens
        ):
            k += 1
        i = k
    return chunks


def title_prefix(title: str, chunk_text: str) -> str:
    """What is put before a chunk's text when it is embedded: its document's title gives
    the chunk context, unless the chunk already starts with it."""
    if not title or chunk_text.startswith(title[:40]):
        return ""
    return title + "\n"


def embedding_text(title: str, chunk_text: str) -> str:
    """The text that is embedded for a chunk: its document's title gives the chunk context."""
    return title_prefix(title, chunk_text) + chunk_text
