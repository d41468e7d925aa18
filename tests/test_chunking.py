"""Chunks respect token limits, cut at sentence boundaries, overlap, and have stable ids."""

from __future__ import annotations

import itertools
import random

import pytest

from retrieval.ingest.chunking import chunk_document
from retrieval.ingest.documents import Document
from retrieval.ingest.sentences import sentence_spans
from retrieval.ingest.tokenizer import load_encoding

WORDS = "the council met in brussels to discuss ukraine and afghanistan with envoys".split()  # noqa: SIM905


def _doc(n_sentences: int, seed: int = 0, doc_id: str = "d1") -> Document:
    rng = random.Random(seed)
    sentences = []
    for i in range(n_sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 30))]
        sentences.append(f"Sentence {i} says " + " ".join(words) + " on Monday.")
    return Document(doc_id=doc_id, title="T", text=" ".join(sentences))


@pytest.mark.parametrize(("max_tokens", "overlap"), [(60, 15), (120, 30), (200, 0)])
def test_chunks_fit_and_cover(max_tokens: int, overlap: int) -> None:
    """Every chunk is within the token limit, and the chunks cover every sentence."""
    enc = load_encoding()
    doc = _doc(80, seed=max_tokens)
    chunks = chunk_document(doc, enc, max_tokens, overlap)
    assert len(chunks) > 1
    for c in chunks:
        assert len(enc.encode(c.text)) <= max_tokens
        assert c.n_tokens <= max_tokens
        assert doc.text[c.start : c.end] == c.text
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for a, b in sentence_spans(doc.text):
        assert a in covered and b - 1 in covered


def test_chunks_start_and_end_at_sentence_boundaries() -> None:
    """Chunks begin and end exactly on sentence boundaries."""
    enc = load_encoding()
    doc = _doc(50, seed=3)
    starts = {a for a, _ in sentence_spans(doc.text)}
    ends = {b for _, b in sentence_spans(doc.text)}
    for c in chunk_document(doc, enc, 80, 20):
        assert c.start in starts
        assert c.end in ends


def test_consecutive_chunks_overlap_within_budget() -> None:
    """Each chunk repeats the previous one's tail sentences, at most `overlap` tokens of them,
    whenever the last sentence fits in that budget."""
    enc = load_encoding()
    doc = _doc(60, seed=5)
    chunks = chunk_document(doc, enc, 100, 30)
    overlapped = 0
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start > prev.start, "no progress"
        last = [a for a, b in sentence_spans(doc.text) if prev.start <= a < prev.end][-1]
        if len(enc.encode(doc.text[last : prev.end])) <= 30:
            assert nxt.start <= last, "the last sentence fits the budget but was not repeated"
            overlapped += 1
        if nxt.start < prev.end:
            assert len(enc.encode(doc.text[nxt.start : prev.end])) <= 30 + 1
    assert overlapped >= len(chunks) // 3


def test_no_overlap_when_zero() -> None:
    """With overlap 0, chunks tile the text without repeating a sentence."""
    enc = load_encoding()
    doc = _doc(40, seed=9)
    chunks = chunk_document(doc, enc, 90, 0)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start >= prev.end


def test_giant_sentence_is_cut_between_words() -> None:
    """A sentence longer than the limit is split into word runs within the limit."""
    enc = load_encoding()
    text = " ".join(f"word{i}" for i in range(600)) + "."
    chunks = chunk_document(Document("g", "T", text), enc, 50, 10)
    assert len(chunks) > 5
    assert all(len(enc.encode(c.text)) <= 50 for c in chunks)
    assert "word0" in chunks[0].text and "word599" in chunks[-1].text


def test_ids_are_stable_and_content_derived() -> None:
    """Re-chunking the same document gives the same ids; an edit changes the ids after it."""
    enc = load_encoding()
    doc = _doc(40, seed=1)
    first = [c.chunk_id for c in chunk_document(doc, enc, 80, 20)]
    again = [c.chunk_id for c in chunk_document(doc, enc, 80, 20)]
    assert first == again
    assert len(set(first)) == len(first)
    edited = Document(doc.doc_id, doc.title, doc.text.replace("Sentence 39", "Sentence X"))
    changed = [c.chunk_id for c in chunk_document(edited, enc, 80, 20)]
    assert changed[0] == first[0]
    assert changed[-1] != first[-1]
    other = Document("d2", doc.title, doc.text)
    assert chunk_document(other, enc, 80, 20)[0].chunk_id != first[0]


def test_empty_document_has_no_chunks() -> None:
    """A document without text yields no chunks."""
    assert chunk_document(Document("e", "T", "  \n "), load_encoding(), 80, 20) == []
