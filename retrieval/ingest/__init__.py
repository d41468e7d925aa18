"""Ingestion: corpus files (event pages, day indexes, articles, JSONL) to ``Document``s
(``documents.load_corpus``), sentences (``sentences``) and chunks of whole sentences sized
in tiktoken tokens (``chunking``)."""
