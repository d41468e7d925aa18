"""Search: hybrid passage retrieval (``retriever.Retriever``): dense search in the store
fused with BM25, with date periods and a recency prior."""
