"""Settings, built once by each entry point from the environment and a `.env` file.

One story for the engine and the bot. Every variable is declared once, as a :class:`Var`
(its name, the field it fills, and a parser), in a table: ``NEWSQA_*`` here for the
engine's :class:`Settings`, ``DISCORD_*`` in ``bot/settings.py`` for the bot's. The same
parsers read both, and a bad value is a :class:`ConfigError` of one line naming the
variable. The process environment wins over `.env`, which wins over the defaults; an
unknown ``NEWSQA_*`` or ``DISCORD_*`` key in `.env` (a typo) gets a warning naming the
closest known key. Library code receives the frozen result and never reads the
environment itself.

Hand-written rather than pydantic-settings: it would still need these one-line messages
(its errors are multi-line reports), ASCII-only digits, ``~user`` checks and the typo
warning written by hand, and importing it costs ~0.8 s against python-dotenv's ~0.02 s, a
cost every ``stats`` and no-change ``index`` run would pay.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from retrieval.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MODEL_WINDOW = 256  # word pieces the packaged model reads; a longer chunk would be cut
DAY_SECONDS = 86_400.0

#: A parser turns a variable's stripped, non-empty text into its value, or raises
#: ConfigError naming the variable (the first argument).
Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Var:
    """One environment variable: its name, the settings field it fills, its parser."""

    name: str
    field: str
    parse: Parser


# --- parsers shared by the engine's and the bot's settings ---

_WHOLE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() also takes "٣" and "1_0"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _bounded(name: str, value: float, raw: str, low: float | None, high: float | None,
             why_high: str = "") -> None:  # fmt: skip
    if low is not None and value < low:
        raise ConfigError(f"{name} must be at least {low:g}, got {raw}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be at most {high:g}{why_high}, got {raw}")


def whole(low: int | None = 0, high: int | None = None, why_high: str = "") -> Parser:
    """A whole number (ASCII digits) in [low, high]."""

    def parse(name: str, raw: str) -> int:
        if not _WHOLE.fullmatch(raw):
            raise ConfigError(f"{name} must be a whole number, got {raw!r}")
        value = int(raw)
        _bounded(name, value, raw, low, high, why_high)
        return value

    return parse


def number(low: float | None = None, high: float | None = None) -> Parser:
    """A finite decimal number in [low, high]."""

    def parse(name: str, raw: str) -> float:
        if raw.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            # nan compares false with every bound and would pass them; inf has no int()
            raise ConfigError(f"{name} must be a finite number, got {raw!r}")
        if not _DECIMAL.fullmatch(raw) or not math.isfinite(value := float(raw)):
            raise ConfigError(f"{name} must be a number, got {raw!r}")
        _bounded(name, value, raw, low, high)
        return value

    return parse


def choice(*allowed: str) -> Parser:
    """One of ``allowed``, case ignored."""

    def parse(name: str, raw: str) -> str:
        if raw.lower() not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw.lower()

    return parse


def text(name: str, raw: str) -> str:
    return raw


def web_url(name: str, raw: str) -> str:
    """An http(s) URL."""
    if not raw.startswith(("http://", "https://")) or any(c.isspace() for c in raw):
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


def path(name: str, raw: str) -> Path:
    """A path; ``~`` and ``~user`` are expanded, and must name a home that exists."""
    if "\0" in raw:
        raise ConfigError(f"{name} must be a path, got {raw!r}")
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~nouser/x, or ~ without a home
        user = raw[1:].split("/", 1)[0]
        who = f"no user {user!r}" if user else "no home folder"
        raise ConfigError(f"{name} starts with ~ but there is {who}: {raw!r}") from None


# --- reading the environment ---


def read_env(
    environ: Mapping[str, str] | None,
    env_file: Path | None,
    known: Collection[str],
    prefixes: tuple[str, ...],
    warn: Callable[[str], object] = log.warning,
) -> dict[str, str]:
    """The process environment (or ``environ``) over ``env_file``. Keys of ``env_file``
    with one of ``prefixes`` that are not ``known`` are warned about, naming the closest
    known key."""
    merged: dict[str, str] = {}
    # A folder is refused; /dev/null (a device, not a regular file) reads as empty.
    if env_file is not None and env_file.is_dir():
        raise ConfigError(f"settings file {env_file} is not a file")
    if env_file is not None and env_file.is_file():
        try:
            values = dotenv_values(env_file)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise ConfigError(f"cannot read settings file {env_file}: {reason}") from None
        for key in values:
            if key.startswith(prefixes) and key not in known:
                hint = f"; did you mean {close}?" if (close := closest(key, known)) else ""
                warn(f"{env_file}: unknown setting {key} is ignored{hint}")
        merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def closest(key: str, known: Collection[str]) -> str | None:
    """The known key ``key`` is most likely a typo of, if any. Names are compared without
    their NEWSQA_/DISCORD_ prefix, which every key shares and which would make any two
    look alike (and so that NEWSQA_GUILD_ID finds DISCORD_GUILD_ID)."""

    def stem(name: str) -> str:
        return re.sub(r"^(?:NEWSQA|DISCORD)_", "", name)

    by_stem = {stem(k): k for k in sorted(known)}
    found = difflib.get_close_matches(stem(key), list(by_stem), n=1, cutoff=0.6)
    return by_stem[found[0]] if found else None


def parse_vars(env: Mapping[str, str], variables: Iterable[Var]) -> dict[str, Any]:
    """The fields of the variables that are set (non-blank) in ``env``, parsed."""
    values: dict[str, Any] = {}
    for var in variables:
        raw = env.get(var.name, "").strip()
        if raw:
            values[var.field] = var.parse(var.name, raw)
    return values


# --- the engine's settings ---


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("var/index")
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    encoder: str = "int8"  # int8 | fp32 (ONNX Runtime) | torch; other models use torch
    model_cache: Path = Path("var/models")  # exported ONNX files
    reader: str = "on"  # on | off: the fine-tuned reader helps pick the quote and bold span
    chunk_tokens: int = 180
    chunk_overlap: int = 40
    batch_size: int = 64
    tiktoken_file: Path | None = None
    top_k: int = 5
    max_question_chars: int = 500
    abstain_threshold: float | None = None  # None: the value calibrated for the engine
    store: str = ""  # empty: the FAISS folder at index_dir; else a Milvus URI
    milvus_token: str = field(default="", repr=False)
    ann_min_chunks: int = 50_000  # from this many chunks FAISS searches approximately
    ray_address: str = ""  # empty: embed locally; "local" or a Ray address: embed on Ray
    watch_seconds: float = 5.0  # how often a server looks for a new index version; 0: never
    event_link_base: str = ""  # empty: events without a source link the Portal page of their day
    conversation_turns: int = 6  # turns of a conversation remembered
    conversation_idle_seconds: float = 600.0  # silence after which a conversation is forgotten
    conversations_max: int = 1000  # conversations remembered at once (least recent go first)


SETTINGS_VARS = (
    Var("NEWSQA_CORPUS_DIR", "corpus_dir", path),
    Var("NEWSQA_INDEX_DIR", "index_dir", path),
    Var("NEWSQA_STORE", "store", text),
    Var("NEWSQA_MILVUS_TOKEN", "milvus_token", text),
    Var("NEWSQA_MODEL", "model", text),
    Var("NEWSQA_DEVICE", "device", text),
    Var("NEWSQA_ENCODER", "encoder", choice("int8", "fp32", "torch")),
    Var("NEWSQA_MODEL_CACHE", "model_cache", path),
    Var("NEWSQA_READER", "reader", choice("on", "off")),
    Var("NEWSQA_CHUNK_TOKENS", "chunk_tokens",
        whole(16, MODEL_WINDOW, f" (the model reads {MODEL_WINDOW} word pieces)")),
    Var("NEWSQA_CHUNK_OVERLAP", "chunk_overlap", whole(0)),
    Var("NEWSQA_BATCH_SIZE", "batch_size", whole(1, 4096)),
    Var("NEWSQA_TIKTOKEN_FILE", "tiktoken_file", path),
    Var("NEWSQA_TOP_K", "top_k", whole(1, 1000)),
    Var("NEWSQA_MAX_QUESTION_CHARS", "max_question_chars", whole(10, 100_000)),
    Var("NEWSQA_ANN_MIN_CHUNKS", "ann_min_chunks", whole(1)),
    Var("NEWSQA_RAY_ADDRESS", "ray_address", text),
    Var("NEWSQA_ABSTAIN_THRESHOLD", "abstain_threshold", number(0, 1)),
    Var("NEWSQA_WATCH_SECONDS", "watch_seconds", number(0, DAY_SECONDS)),
    Var("NEWSQA_EVENT_LINK_BASE", "event_link_base", web_url),
    Var("NEWSQA_CONVERSATION_TURNS", "conversation_turns", whole(1, 100)),
    Var("NEWSQA_CONVERSATION_IDLE_SECONDS", "conversation_idle_seconds", number(1, DAY_SECONDS)),
    Var("NEWSQA_CONVERSATIONS_MAX", "conversations_max", whole(1, 1_000_000)),
)  # fmt: skip


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from an already merged mapping of variables."""
    settings = Settings(**parse_vars(env, SETTINGS_VARS))
    if settings.chunk_overlap >= settings.chunk_tokens:
        raise ConfigError("NEWSQA_CHUNK_OVERLAP must be smaller than NEWSQA_CHUNK_TOKENS")
    return settings


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    warn: Callable[[str], object] = log.warning,
) -> Settings:
    """Settings from the environment (or ``environ``) over ``env_file`` over defaults."""
    known = {v.name for v in SETTINGS_VARS}
    return settings_from(read_env(environ, env_file, known, ("NEWSQA_",), warn))
