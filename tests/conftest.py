"""Shared fixtures: the real model (the default int8 ONNX encoder, and the torch one),
loaded once, an index of the default corpus, and question-answerers over small corpora
written in a test."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.answer.qa import QA
from retrieval.encoder.factory import load_encoder
from retrieval.encoder.sbert import SbertEncoder
from retrieval.index.build import build_index
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# Exported ONNX files are kept between runs (exporting takes ~20 s): git-ignored var/.
MODEL_CACHE = REPO / "var" / "models"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the shared data must sit beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def model():  # type: ignore[no-untyped-def]
    """The encoder a default installation uses (int8 ONNX, exported on first use)."""
    return load_encoder(replace(Settings(), model_cache=MODEL_CACHE))


@pytest.fixture(scope="session")
def torch_model():  # type: ignore[no-untyped-def]
    """The sentence-transformers encoder on torch: the reference the ONNX ones must match."""
    return SbertEncoder.load("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    index_dir = tmp_path_factory.mktemp("default-index")
    return replace(
        Settings(), corpus_dir=REPO / "corpus", index_dir=index_dir, model_cache=MODEL_CACHE
    )


@pytest.fixture(scope="session")
def default_index(corpus_settings: Settings, model) -> Settings:  # type: ignore[no-untyped-def]
    """Settings pointing at a freshly built index of the bundled corpus."""
    build_index(corpus_settings, encoder=model)
    return corpus_settings


@pytest.fixture(scope="session")
def qa_of(tmp_path_factory: pytest.TempPathFactory, model) -> Callable[[list[dict[str, str]]], QA]:  # type: ignore[no-untyped-def]
    """Builds a question-answerer over a corpus of the given JSONL records."""

    def build(rows: list[dict[str, str]]) -> QA:
        root = tmp_path_factory.mktemp("corpus")
        (root / "corpus").mkdir()
        text = "\n".join(json.dumps(r) for r in rows) + "\n"
        (root / "corpus" / "news.jsonl").write_text(text)
        settings = replace(Settings(), corpus_dir=root / "corpus", index_dir=root / "index")
        build_index(settings, encoder=model)
        return QA.open(settings, encoder=model)

    return build
