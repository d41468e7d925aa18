"""newsqa retrieval core, one sub-package per pipeline stage, in the order data flows:

- ``ingest``: corpus files to documents, sentences and token-sized chunks;
- ``encoder``: texts to unit vectors (seam: one module per backend);
- ``store``: where index versions are kept and published (seam: one module per backend);
- ``index``: building and reindexing (diff the corpus, embed, publish), and watching;
- ``search``: hybrid dense + lexical retrieval of passages;
- ``answer``: question analysis, sentence ranking, the answer, its reply text, the
  engine (``answer.qa.QA``) shared by the CLI and the bot, and evaluation;
- ``cli``: ``python -m retrieval``.

Importing ``retrieval`` or a sub-package is cheap; the model stack is imported only where
a model is loaded.
"""

from retrieval.errors import BadQuestionError, NewsQAError
from retrieval.settings import Settings, load_settings

__all__ = ["BadQuestionError", "NewsQAError", "Settings", "load_settings"]
