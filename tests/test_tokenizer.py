"""The tokenizer loads offline from a hash-checked rank file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from retrieval.errors import TokenizerError
from retrieval.ingest.tokenizer import load_encoding


def test_packaged_rank_file_gives_cl100k_ids() -> None:
    """The packaged rank file encodes text to cl100k_base's known ids."""
    enc = load_encoding()
    assert enc.name == "cl100k_base"
    assert enc.encode("hello world") == [15339, 1917]
    assert enc.n_vocab == 100277


def test_shared_rank_file_matches_packaged(shared: Path) -> None:
    """A rank file given by path (plain or gzipped) yields the same encoding."""
    plain = shared / "data" / "tiktoken" / "cl100k_base.tiktoken"
    text = "NATO reopens talks with Russia, 2016-04-20."
    assert load_encoding(plain).encode(text) == load_encoding().encode(text)


def test_corrupt_rank_file_is_refused(tmp_path: Path, shared: Path) -> None:
    """A rank file whose hash differs raises a TokenizerError naming the problem."""
    data = (shared / "data" / "tiktoken" / "cl100k_base.tiktoken").read_bytes()
    bad = tmp_path / "cl100k_base.tiktoken.gz"
    bad.write_bytes(gzip.compress(data[:-10] + b"AAAA= 1\n"))
    with pytest.raises(TokenizerError, match="sha256"):
        load_encoding(bad)


def test_missing_rank_file_is_reported(tmp_path: Path) -> None:
    """A missing rank file raises a TokenizerError, not an OSError."""
    with pytest.raises(TokenizerError, match="cannot read"):
        load_encoding(tmp_path / "nope.tiktoken")
