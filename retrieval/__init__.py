"""newsqa retrieval core: corpus ingestion, chunking, embedding, indexing and answering."""

from .answer import Answer, Passage, Source
from .build import BuildReport, build_index
from .documents import Corpus, Document, load_corpus
from .errors import BadQuestionError, NewsQAError
from .index import Index, load_index
from .qa import QA
from .search import Hit, Retriever
from .settings import Settings, load_settings

__all__ = [
    "QA",
    "Answer",
    "BadQuestionError",
    "BuildReport",
    "Corpus",
    "Document",
    "Hit",
    "Index",
    "NewsQAError",
    "Passage",
    "Retriever",
    "Settings",
    "Source",
    "build_index",
    "load_corpus",
    "load_index",
    "load_settings",
]
