"""Encoders: text to unit vectors (``base.Encoder``), one module per backend, and
``factory.load_encoder`` to pick one from the settings.

Importing this package is cheap: a backend's model stack is imported when it is loaded.
"""
