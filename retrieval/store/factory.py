"""Picks the store backend for the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.settings import Settings

    from .base import Store


def open_store(settings: Settings) -> Store:
    """The store the settings name (today: the FAISS folder at ``settings.index_dir``)."""
    from .faiss import FaissStore

    return FaissStore(settings.index_dir)
