"""The sentence-transformers (torch) encoder: the packaged model loaded offline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sentence_transformers import SentenceTransformer

from retrieval.encoder.base import resolve_model
from retrieval.encoder.pooling import pool_spans, unit
from retrieval.errors import ModelError

log = logging.getLogger(__name__)


def load_model(name: str, device: str = "cpu") -> SentenceTransformer:
    """Load a sentence-transformers model by name or path without touching the network."""
    path = resolve_model(name)
    try:
        model = SentenceTransformer(path, device=device, local_files_only=True)
    except Exception as exc:  # the library raises many kinds; all mean "cannot load"
        raise ModelError(f"cannot load embedding model {name!r} from {path}: {exc}") from None
    log.info("loaded model %s (%d dims)", name, model_dimension(model))
    return model


def model_dimension(model: SentenceTransformer) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or (
        model.get_sentence_embedding_dimension
    )
    dim = getter()
    if dim is None:
        raise ModelError("the embedding model does not report its dimension")
    return int(dim)


def embed(
    model: SentenceTransformer,
    texts: Sequence[str],
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Unit-length float32 vectors, one row per text.

    Vectors are normalised so that inner product equals cosine similarity, which lets the
    index use FAISS's exact inner-product search.
    """
    if not texts:
        return np.zeros((0, model_dimension(model)), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        show_progress_bar=progress,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embed_passages(
    model: SentenceTransformer,
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Passage vectors and, from the same forward pass, one vector per sentence span.

    A sentence's vector is the mean of the passage's contextual token embeddings that fall
    inside its character span, the same pooling the model applies to a whole passage; so
    sentences cost no extra model pass. Sentences cut off by the model's window are
    embedded on their own. Returns (len(texts) x d, sum(len(s) for s in spans) x d).
    """
    dim = model_dimension(model)
    n_sent = sum(len(s) for s in spans)
    passages = np.zeros((len(texts), dim), dtype=np.float32)
    sentences = np.zeros((n_sent, dim), dtype=np.float32)
    if not texts:
        return passages, sentences
    first = np.cumsum([0, *(len(s) for s in spans)])
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    group = max(batch_size * 8, 1)
    missing: list[tuple[int, str]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="chunk")
    max_len = model.max_seq_length
    for g in range(0, len(order), group):
        ids = order[g : g + group]
        outputs: list[dict[str, Any]] = model.encode(  # type: ignore[assignment]
            [texts[i] for i in ids], batch_size=batch_size, output_value=None,
            convert_to_numpy=False, show_progress_bar=False,
        )  # fmt: skip
        for i, out in zip(ids, outputs, strict=True):
            tokens = out["token_embeddings"].float().cpu().numpy()
            mask = out["attention_mask"].cpu().numpy().astype(bool)
            passages[i] = unit(out["sentence_embedding"].float().cpu().numpy())
            offsets = model.tokenizer(
                texts[i], return_offsets_mapping=True, truncation=True, max_length=max_len
            )["offset_mapping"]
            n = min(len(tokens), len(offsets))
            pooled, lost = pool_spans(tokens[:n], np.asarray(offsets)[:n], mask[:n], spans[i])
            sentences[first[i] : first[i + 1]] = pooled
            missing.extend((first[i] + j, texts[i][a:b]) for j, (a, b) in lost)
        if bar is not None:
            bar.update(len(ids))
    if bar is not None:
        bar.close()
    if missing:
        log.debug("%d sentences beyond the model window embedded on their own", len(missing))
        sentences[[r for r, _ in missing]] = embed(model, [t for _, t in missing], batch_size)
    return passages, sentences


class SbertEncoder:
    """:class:`~retrieval.encoder.base.Encoder` backed by a sentence-transformers model."""

    backend = "torch"
    digest = ""  # the weights are the model folder's; the model name identifies them

    def __init__(self, model: str, st_model: SentenceTransformer) -> None:
        self.model = model
        self.st_model = st_model
        self._dimension = model_dimension(st_model)

    @classmethod
    def load(cls, name: str, device: str = "cpu") -> SbertEncoder:
        return cls(name, load_model(name, device))

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        return embed(self.st_model, texts, batch_size, progress)

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        return embed_passages(self.st_model, texts, spans, batch_size, progress)
