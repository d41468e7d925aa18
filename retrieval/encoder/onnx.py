"""The ONNX Runtime encoder: the packaged model exported to ONNX (fp32 or dynamic int8).

Querying needs only ``tokenizers``, ``onnxruntime`` and numpy: no torch, so a process that
answers questions starts in a fraction of the time and encodes a question 2-3x faster.
The ONNX files are made once, with torch, by :mod:`retrieval.encoder.onnx_export`, and
kept in the model cache (``NEWSQA_MODEL_CACHE``) under a key of the model's files::

    <cache>/<model>-<key>/{fp32,int8}.onnx     the graphs
    <cache>/<model>-<key>/{fp32,int8}.json     their sha256 (recorded in index manifests)

The tokenizer is the model folder's own ``tokenizer.json`` and the pooling that of
sentence-transformers (mean over the attention mask, then L2), so fp32 vectors match the
torch encoder's to cosine 1.0000 and int8 ones to about 0.993.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from retrieval.encoder.base import resolve_model
from retrieval.encoder.pooling import pool_spans, unit_rows
from retrieval.errors import ModelError

log = logging.getLogger(__name__)

VARIANTS = ("fp32", "int8")
# Padded tokens (rows x longest row) per model call. A batch of 64 full-window chunks
# (64 x 256 tokens) spills its attention scores (~200 MB a layer) out of every cache;
# on the benchmark chunks, int8 encoding ran 1.3-1.5x faster with 256-1,024 tokens per
# call than with 64 rows (fastest at 256, within noise of 512), while short texts such as
# questions still go 64 at a time.
TOKENS_PER_BATCH = 512


def token_batches(
    lengths: Sequence[int], batch_size: int, tokens: int | None = None
) -> list[list[int]]:
    """Positions grouped into model calls: longest first, so that a batch pads little;
    each batch at most ``batch_size`` rows and, unless one row alone is longer, at most
    ``tokens`` (default ``TOKENS_PER_BATCH``) padded tokens. The Ray encoder groups the
    same batches, so that a cluster's vectors are a local build's."""
    budget = TOKENS_PER_BATCH if tokens is None else tokens
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    rows: list[int] = []
    longest = 0
    for i in order:
        longest = max(longest, lengths[i])
        if rows and (len(rows) >= batch_size or (len(rows) + 1) * longest > budget):
            batches.append(rows)
            rows, longest = [], lengths[i]
        rows.append(i)
    if rows:
        batches.append(rows)
    return batches


def cache_dir(name: str, cache: Path) -> Path:
    """Where the ONNX files of model ``name`` live in ``cache``.

    The key hashes the model's config and tokenizer and the size of its weights (cheap
    to compute at every start), so a different model under the same name gets new files.
    """
    folder = Path(resolve_model(name))
    h = hashlib.sha256()
    for part in ("config.json", "tokenizer.json", "modules.json"):
        f = folder / part
        h.update(f.read_bytes() if f.is_file() else b"-")
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    h.update(" ".join(f"{w.name}:{w.stat().st_size}" for w in weights).encode())
    slug = re.sub(r"[^a-z0-9]+", "-", Path(name).name.lower()).strip("-") or "model"
    return cache / f"{slug}-{h.hexdigest()[:12]}"


def check_pooling(model_dir: Path) -> int:
    """The model's window in tokens, after checking that its pooling is the one done here."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read the model's configuration in {model_dir}: {exc}") from None
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if kinds != ["Transformer", "Pooling", "Normalize"] or modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(
            f"the ONNX encoder needs mean pooling with normalisation, {model_dir} has "
            f"{kinds} {modes}: set NEWSQA_ENCODER=torch"
        )
    return int(config.get("max_seq_length") or 256)


def model_tokenizer(model_dir: Path, max_len: int) -> Tokenizer:
    """The model folder's own tokenizer, unpadded (batches are padded to their longest
    text) and cut at ``max_len`` word pieces (the longer of a pair first). The file ships
    padding to 128 tokens and truncation at 128; the model's window is larger."""
    try:
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    except Exception as exc:  # the library raises its own kinds for bad files
        raise ModelError(f"cannot load the tokenizer of {model_dir}: {exc}") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_len, strategy="longest_first")
    return tokenizer


def session(onnx_path: Path) -> ort.InferenceSession:
    """An onnxruntime session of a graph on the CPU, as the encoder and the reader run;
    a file it cannot load is a ModelError."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about unused initialisers
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # one graph branch
    # Idle pool threads sleep instead of spinning: on a shared or busy machine a spinning
    # thread takes the core its working sibling needs (~1.1x faster encoding at equal
    # load, bench/encoder.py); threads default to the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # the library raises its own kinds for bad files
        raise ModelError(f"cannot load the ONNX model {onnx_path}: {exc}") from None


class OnnxEncoder:
    """:class:`~retrieval.encoder.base.Encoder` running an exported graph in onnxruntime."""

    def __init__(self, model: str, variant: str, onnx_path: Path, digest: str) -> None:
        if variant not in VARIANTS:
            raise ModelError(f"unknown ONNX variant {variant!r}: use one of {VARIANTS}")
        self.model = model
        self.backend = f"onnx-{variant}"
        self.digest = digest
        model_dir = Path(resolve_model(model))
        max_len = check_pooling(model_dir)
        self.tokenizer = model_tokenizer(model_dir, max_len)
        self.session = session(onnx_path)
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._dimension = int(self.session.get_outputs()[0].shape[-1])
        log.info("loaded model %s (%s, %d dims)", model, self.backend, self._dimension)

    @classmethod
    def load(cls, name: str, variant: str, cache: Path, digest: str | None = None) -> OnnxEncoder:
        """The cached ONNX model of ``name``, exported first (with torch) if missing.

        With ``digest`` (from an index manifest), the cached file must be the one that
        encoded that index.
        """
        folder = cache_dir(name, cache)
        path, meta = folder / f"{variant}.onnx", folder / f"{variant}.json"
        if not (path.is_file() and meta.is_file()):
            from retrieval.encoder.onnx_export import export

            log.info("exporting %s to ONNX (%s) in %s, once", name, variant, folder)
            export(Path(resolve_model(name)), folder)
        try:
            recorded = json.loads(meta.read_text())["sha256"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"cannot read {meta} ({exc}): delete {folder} to export again"
            ) from None
        if digest and recorded != digest:
            raise ModelError(
                f"the index was encoded by {variant} ONNX file {digest[:12]}, the model cache "
                f"holds {recorded[:12]}: rebuild with `python -m retrieval index --full`"
            )
        return cls(name, variant, path, recorded)

    @property
    def dimension(self) -> int:
        return self._dimension

    def _run(self, encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """Token vectors (batch x longest x d) and the attention mask of a padded batch."""
        longest = max(len(e.ids) for e in encodings)
        shape = (len(encodings), longest)
        ids, mask, types = (np.zeros(shape, dtype=np.int64) for _ in range(3))
        for r, e in enumerate(encodings):
            n = len(e.ids)
            ids[r, :n], mask[r, :n], types[r, :n] = e.ids, 1, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        outputs: list[Any] = self.session.run(
            None, {k: v for k, v in feed.items() if k in self._inputs}
        )
        return np.asarray(outputs[0], dtype=np.float32), mask

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        for rows in token_batches([len(e.ids) for e in encodings], batch_size):
            tokens, mask = self._run([encodings[i] for i in rows])
            weights = mask[..., None].astype(np.float32)
            sums = (tokens * weights).sum(axis=1)
            out[rows] = unit_rows(sums / np.maximum(weights.sum(axis=1), 1.0))
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        first = np.cumsum([0, *(len(s) for s in spans)])
        passages = np.zeros((len(texts), self._dimension), dtype=np.float32)
        sentences = np.zeros((int(first[-1]), self._dimension), dtype=np.float32)
        if not texts:
            return passages, sentences
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="chunk")
        encodings = self.tokenizer.encode_batch(list(texts))
        missing: list[tuple[int, str]] = []
        for rows in token_batches([len(e.ids) for e in encodings], batch_size):
            tokens, _ = self._run([encodings[i] for i in rows])
            for r, i in enumerate(rows):
                e = encodings[i]
                n = len(e.ids)
                passages[i] = tokens[r, :n].mean(axis=0)
                offsets = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
                pooled, lost = pool_spans(tokens[r, :n], offsets, np.ones(n), spans[i])
                sentences[first[i] : first[i + 1]] = pooled
                missing.extend((int(first[i]) + j, texts[i][a:b]) for j, (a, b) in lost)
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        if missing:
            log.debug("%d sentences beyond the model window embedded on their own", len(missing))
            sentences[[r for r, _ in missing]] = self.encode([t for _, t in missing], batch_size)
        return unit_rows(passages), sentences
