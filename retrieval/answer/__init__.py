"""Answering: question analysis (``question``), candidate sentences and their ranker
(``features``), the extractive answer (``engine``), the reply text (``render``), the
engine shared by the CLI and the bot (``qa.QA``), and evaluation (``evaluate``)."""
