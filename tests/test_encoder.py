"""The encoder seam: ONNX vectors against torch's, the cache, and no torch when answering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.answer.qa import QA
from retrieval.encoder import onnx as onnx_module
from retrieval.encoder.base import Encoder
from retrieval.encoder.factory import backend_for, load_encoder
from retrieval.encoder.onnx import OnnxEncoder, cache_dir, token_batches
from retrieval.errors import ConfigError, ModelError
from retrieval.index.build import build_index
from retrieval.ingest.chunking import chunk_document, title_prefix
from retrieval.ingest.documents import load_corpus
from retrieval.ingest.tokenizer import load_encoding
from retrieval.settings import Settings, load_settings
from retrieval.store.faiss import load_index
from tests.conftest import MODEL_CACHE, REPO

QUESTIONS = ["who chaired the talks?", "How many people died in the floods?", "NATO Russia"]


@pytest.fixture(scope="module")
def passages() -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The bundled corpus's chunks as the index embeds them, with their sentence spans."""
    enc = load_encoding(None)
    texts, spans = [], []
    for doc in load_corpus(REPO / "corpus").documents:
        for chunk in chunk_document(doc, enc, 180, 40):
            prefix = title_prefix(doc.title, chunk.text)
            texts.append(prefix + chunk.text)
            spans.append([(a + len(prefix), b + len(prefix)) for a, b in chunk.sentences])
    return texts, spans


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and len(a) > 0
    return np.asarray((a * b).sum(axis=1))


@pytest.mark.parametrize(
    ("variant", "low", "mean"), [("fp32", 0.999, 0.9999), ("int8", 0.97, 0.99)]
)
def test_onnx_vectors_match_torch(
    variant: str, low: float, mean: float, torch_model: Encoder, passages: tuple
) -> None:
    """Passage, sentence and question vectors of the ONNX encoders match torch's."""
    onnx = load_encoder(replace(Settings(), model_cache=MODEL_CACHE), f"onnx-{variant}")
    texts, spans = passages
    ref_p, ref_s = torch_model.encode_passages(texts, spans, batch_size=4)
    got_p, got_s = onnx.encode_passages(texts, spans, batch_size=4)
    ref_q, got_q = torch_model.encode(QUESTIONS), onnx.encode(QUESTIONS)
    for ref, got in ((ref_p, got_p), (ref_s, got_s), (ref_q, got_q)):
        cos = _cosines(ref, got)
        assert cos.min() > low and cos.mean() > mean, (variant, cos.min(), cos.mean())
    np.testing.assert_allclose(np.linalg.norm(got_s, axis=1), 1.0, atol=1e-4)


def test_token_batches_cover_every_row_once_within_the_limits() -> None:
    """Batches hold every position once, longest first, within both row and token limits."""
    lengths = [5, 300, 40, 40, 12, 256, 3, 90, 41, 7] * 7
    batches = token_batches(lengths, batch_size=4, tokens=200)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) <= 4 and (len(b) == 1 or len(b) * longest <= 200), b
    assert len(token_batches(lengths, batch_size=64, tokens=10**9)) == 2  # rows only


def test_token_limited_batches_keep_int8_as_close_to_fp32(
    monkeypatch: pytest.MonkeyPatch, passages: tuple
) -> None:
    """int8 vectors in token-limited batches are as close to fp32 as in 64-row batches.

    int8 activations are quantised per batch, so the batching moves vectors a little
    (cosine ~0.995 between the two); it must not move them away from the fp32 model.
    """
    settings = replace(Settings(), model_cache=MODEL_CACHE)
    int8, fp32 = load_encoder(settings, "onnx-int8"), load_encoder(settings, "onnx-fp32")
    texts, spans = passages
    ref = fp32.encode_passages(texts, spans)
    new = int8.encode_passages(texts, spans)
    monkeypatch.setattr(onnx_module, "TOKENS_PER_BATCH", 10**9)  # rows only, as before
    old = int8.encode_passages(texts, spans)
    for r, n, o in zip(ref, new, old, strict=True):
        assert _cosines(n, o).min() > 0.985
        to_new, to_old = _cosines(r, n), _cosines(r, o)
        assert to_new.min() > 0.985 and to_new.mean() > to_old.mean() - 0.002


def test_sentences_beyond_the_window_are_embedded_alone(model: Encoder) -> None:
    """A sentence the model's 256-token window cuts off gets its own vector, not zeros."""
    filler = "The committee met again. " * 80  # ~400 word pieces
    last = "Floods closed the northern railway on Tuesday."
    text = filler + last
    spans = [(0, 24), (len(filler), len(text))]
    _, sentences = model.encode_passages([text], [spans])
    np.testing.assert_allclose(sentences[1], model.encode([last])[0], atol=1e-5)
    assert float(sentences[0] @ sentences[1]) < 0.9


def test_manifest_names_the_encoder_and_queries_use_it(
    default_index: Settings, torch_model: Encoder
) -> None:
    """The index records what encoded it; questions use that, whatever NEWSQA_ENCODER says."""
    m = load_index(default_index.index_dir).manifest
    assert m.encoder == "onnx-int8" and len(m.encoder_digest) == 64
    qa = QA.open(replace(default_index, encoder="torch"), encoder=torch_model)
    assert qa.encoder.backend == "onnx-int8" and qa.encoder.digest == m.encoder_digest
    assert "Stoltenberg" in qa.answer("who chaired the talks?").text


def test_changing_the_encoder_rebuilds_in_full(tmp_path: Path, torch_model: Encoder) -> None:
    """Vectors of two encoders are never mixed: a new encoder means a full rebuild."""
    settings = replace(
        Settings(), corpus_dir=REPO / "corpus", index_dir=tmp_path / "ix", model_cache=MODEL_CACHE
    )
    build_index(settings, encoder=torch_model)
    again = build_index(settings)  # the default encoder, int8
    assert again.full and "encoder 'torch' -> 'onnx-int8'" in again.reason
    assert load_index(settings.index_dir).manifest.encoder == "onnx-int8"


def test_a_changed_onnx_file_is_refused(tmp_path: Path, model: Encoder) -> None:
    """An index is never queried by an ONNX file other than the one that encoded it."""
    cache = tmp_path / "cache"
    shutil.copytree(
        cache_dir("all-MiniLM-L6-v2", MODEL_CACHE), cache_dir("all-MiniLM-L6-v2", cache)
    )
    assert OnnxEncoder.load("all-MiniLM-L6-v2", "int8", cache, model.digest).digest == model.digest
    with pytest.raises(ModelError, match="index --full"):
        OnnxEncoder.load("all-MiniLM-L6-v2", "int8", cache, "0" * 64)


def test_encoder_setting() -> None:
    """NEWSQA_ENCODER picks the backend; a model without ONNX files falls back to torch."""
    assert load_settings({}, None).encoder == "int8"
    assert backend_for(load_settings({"NEWSQA_ENCODER": "FP32"}, None)) == "onnx-fp32"
    assert backend_for(load_settings({"NEWSQA_ENCODER": "torch"}, None)) == "torch"
    custom = load_settings({"NEWSQA_MODEL": "/srv/models/my-minilm"}, None)
    assert backend_for(custom) == "torch"
    with pytest.raises(ConfigError, match="NEWSQA_ENCODER must be one of int8, fp32, torch"):
        load_settings({"NEWSQA_ENCODER": "gpu"}, None)


_HOT_PATH = """
import contextlib, io, json, os, sys
from bot.__main__ import main as bot_main
from retrieval.cli.main import main

out = io.StringIO()
codes = [main(["index", "--no-progress"])]
codes += [main(["search", "who chaired the talks?", "--json"]), main(["stats"])]
with contextlib.redirect_stdout(out):
    codes.append(main(["ask", "who chaired the talks?"]))
sys.stdin = io.StringIO("who chaired the talks?\\n")
with contextlib.redirect_stdout(out):
    codes.append(bot_main(["--console", "--env-file", os.devnull]))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sentence_transformers"))
print(json.dumps({"codes": codes, "heavy": heavy, "out": out.getvalue()}), file=sys.stderr)
"""


def test_no_torch_on_the_hot_path(default_index: Settings) -> None:
    """With the ONNX encoder, index (nothing changed), search, stats, ask and the bot
    console never import torch or sentence-transformers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "DISCORD_"))}
    env |= {
        "NEWSQA_INDEX_DIR": str(default_index.index_dir),
        "NEWSQA_CORPUS_DIR": str(default_index.corpus_dir),
        "NEWSQA_MODEL_CACHE": str(MODEL_CACHE),
        "NEWSQA_WATCH_SECONDS": "0",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _HOT_PATH], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0, 0], proc.stderr[-2000:]
    assert report["out"].count("Stoltenberg") == 2  # ask, then the console
    assert report["heavy"] == []
