"""Stores: where index versions are kept, published atomically and loaded
(``base.Store``), one module per backend, and ``factory.open_store`` to pick one."""
