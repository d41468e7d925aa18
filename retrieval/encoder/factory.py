"""Picks the encoder backend for the settings; each backend's heavy imports happen only here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.settings import Settings

    from .base import Encoder


def load_encoder(settings: Settings) -> Encoder:
    """The encoder the settings ask for, loaded offline."""
    from .sbert import SbertEncoder

    return SbertEncoder.load(settings.model, settings.device)
