"""The encoder seam: what the rest of newsqa needs from an embedding model.

Every backend (``sbert``: sentence-transformers on torch; more to come) turns texts into
unit-length float32 vectors, so that inner product equals cosine similarity and the
stores can use exact or approximate inner-product search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    """Texts in, unit vectors out. Implementations are safe to call from several threads."""

    #: The model's name as settings and manifests spell it (e.g. ``all-MiniLM-L6-v2``).
    model: str
    #: Which backend computes the vectors (recorded in the index manifest).
    backend: str

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """One unit row per text, float32, shape ``(len(texts), dimension)``."""
        ...

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Passage vectors and, from the same model pass, one vector per sentence span.

        Returns ``(len(texts) x d, sum(len(s) for s in spans) x d)``; sentence rows follow
        the passages' order and, inside a passage, the spans' order.
        """
        ...
