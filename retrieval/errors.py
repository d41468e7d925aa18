"""The errors the retrieval core raises; the CLI and the bot translate them for people."""


class NewsQAError(Exception):
    """Base of every error the core raises on purpose. ``str(err)`` is a one-line message."""


class ConfigError(NewsQAError):
    """A setting is missing or malformed."""


class EmptyCorpusError(NewsQAError):
    """The corpus holds no document: publishing would drop every document of the index."""


class UnreadableFileError(NewsQAError):
    """A corpus file is binary, not UTF-8, empty or unreadable; ``str(err)`` is the reason."""


class TokenizerError(NewsQAError):
    """tiktoken's rank file is missing or does not match its expected hash."""


class ModelError(NewsQAError):
    """The embedding model could not be loaded."""


class IndexError_(NewsQAError):
    """Base of index problems (named with a trailing underscore to leave the builtin alone)."""


class IndexMissingError(IndexError_):
    """No index has been built at the given folder."""


class IndexCorruptError(IndexError_):
    """An index folder is incomplete, truncated or unreadable."""


class IndexMismatchError(IndexError_):
    """The index was built with another model, dimension or tokenizer than the one asked for."""


class StoreUnreachableError(IndexError_):
    """The server holding the index (Milvus) cannot be reached or opened."""


class IndexWriteError(IndexError_):
    """The index cannot be written (a read-only or full disk, a path that is not a folder);
    the published version is left as it was."""


class IndexLockedError(IndexError_):
    """Another process is writing the index."""


class BadQuestionError(NewsQAError):
    """The question is empty, too long, or has nothing to search for."""
