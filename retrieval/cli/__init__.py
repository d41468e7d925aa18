"""The command line, ``python -m retrieval``: ``main`` builds the parser from the command
groups (``indexing``: index, stats; ``answers``: search, ask, eval)."""
