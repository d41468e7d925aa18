"""A fuzz run of the corpus readers: mutated copies of every sample file (event pages, a
day index, raw articles, JSONL) are read without a traceback, and each file either gives
documents or is skipped by name."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from retrieval.ingest.chunking import chunk_document
from retrieval.ingest.documents import load_corpus
from retrieval.ingest.tokenizer import load_encoding

REPO = Path(__file__).resolve().parents[1]
COPIES = 12  # mutated copies of each sample file; the seed makes the run repeatable
SEED = 20261130

# What hostile or broken files contain: NULs, invalid UTF-8, line separators, CR, Markdown
# and JSON punctuation, HTML entities, a BOM.
_PALETTE = [
    b"\x00", b"\xff\xfe", b"\xc3", b"\xe2\x80\xa8", b"\xc2\x85", b"\r", b"\n", b"\n\n",
    b"# ", b"### ", b"##### ", b"### [2016-13-45](x)", b"_Context: ", b"1. [", b"](", b")",
    b"{", b"}", b'"', b'{"text": ', b"[", b"]", b"&#10;", b"\xef\xbb\xbf", b"\t", b" " * 50,
    "中文ไทย😀".encode(),
]  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip, insert, delete, duplicate, truncate."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buf) + 1)
        op = rng.randrange(5)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[at:at] = rng.choice(_PALETTE) if rng.random() < 0.8 else rng.randbytes(8)
        elif op == 2:
            del buf[at : at + rng.randint(1, 200)]
        elif op == 3:
            buf[at:at] = buf[at : at + rng.randint(1, 400)] * rng.randint(1, 3)
        else:
            del buf[at:]
    return bytes(buf)


def samples(shared: Path) -> list[tuple[str, bytes]]:
    found = [p for p in (shared / "data/corpus-samples").rglob("*") if p.is_file()]
    found += sorted((REPO / "corpus").iterdir())
    files = [(p.name, p.read_bytes()) for p in sorted(found)]
    rtqa = (shared / "data/eval/rtqa/corpus.jsonl").read_bytes().split(b"\n")[:6]
    return [*files, ("rtqa.jsonl", b"\n".join(rtqa) + b"\n")]


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_mutated_corpus_files_never_raise(
    seed: int, shared: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every mutated file gives documents or is skipped with its name in a warning; no
    parser raises (that would be logged with a traceback); the documents chunk."""
    rng = random.Random(seed)
    names = []
    for n, (name, data) in enumerate(samples(shared)):
        for copy in range(COPIES):
            target = tmp_path / f"{n:02d}-{copy:02d}-{name}"
            target.write_bytes(mutate(data, rng))
            names.append(target.name)
    caplog.set_level(logging.WARNING)
    corpus = load_corpus(tmp_path)
    assert corpus.files == len(names)
    read = {d.path for d in corpus.documents}
    skipped = {s.path for s in corpus.skipped}
    assert set(names) <= read | skipped, set(names) - read - skipped
    assert not [s for s in corpus.skipped if s.reason.startswith("could not parse")]
    assert not [r for r in caplog.records if r.exc_info]
    warned = caplog.text
    for name in skipped:
        assert name in warned
    enc = load_encoding()
    for doc in corpus.documents:
        assert doc.text.strip() and doc.title.strip()
        assert doc.date is None or len(doc.date) == 10
        for chunk in chunk_document(doc, enc, 60, 15):
            assert chunk.text == doc.text[chunk.start : chunk.end]
