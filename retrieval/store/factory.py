"""Picks the store backend for the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.settings import Settings

    from .base import Store


def open_store(settings: Settings) -> Store:
    """The store ``settings.store`` names: empty for the FAISS folder at
    ``settings.index_dir``, else a Milvus URI (``milvus-lite:PATH``, ``http://host:19530``).
    Backends are imported only when chosen (pymilvus is an optional extra)."""
    if settings.store:
        from .milvus import MilvusStore

        return MilvusStore(settings.store, settings.milvus_token)
    from .faiss import FaissStore

    return FaissStore(settings.index_dir)
