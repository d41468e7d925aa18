"""Picks the encoder backend for the settings; each backend's heavy imports happen only here.

``NEWSQA_ENCODER`` names the backend new vectors are made with: ``int8`` (the default) or
``fp32`` ONNX, or ``torch``. Only the packaged model has ONNX files; any other model is
served by torch. Queries are encoded by the backend an index's manifest names, whatever
the setting says, so that questions and passages always come from the same model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.encoder.base import is_packaged
from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from retrieval.settings import Settings

    from .base import Encoder

ENCODERS = ("int8", "fp32", "torch")


def backend_for(settings: Settings) -> str:
    """The backend that new vectors are made with: ``onnx-int8``, ``onnx-fp32`` or ``torch``."""
    if settings.encoder not in ENCODERS:
        raise ConfigError(f"NEWSQA_ENCODER must be one of {', '.join(ENCODERS)}")
    if settings.encoder == "torch" or not is_packaged(settings.model):
        return "torch"
    return f"onnx-{settings.encoder}"


def load_encoder(settings: Settings, backend: str | None = None, digest: str = "") -> Encoder:
    """The encoder for ``backend`` (default: the settings' choice), loaded offline.

    ``backend`` and ``digest`` come from an index manifest when encoding queries for it.
    """
    backend = backend or backend_for(settings)
    if backend == "torch":
        from .sbert import SbertEncoder

        return SbertEncoder.load(settings.model, settings.device)
    if backend.startswith("onnx-"):
        from .onnx import OnnxEncoder

        variant = backend.removeprefix("onnx-")
        return OnnxEncoder.load(settings.model, variant, settings.model_cache, digest or None)
    raise ConfigError(f"unknown encoder backend {backend!r} (from the index manifest)")


def serves(encoder: Encoder, backend: str, digest: str) -> bool:
    """Whether ``encoder`` is the one an index built by ``backend``/``digest`` needs."""
    return encoder.backend == backend and (not digest or encoder.digest == digest)
