"""Settings for the retrieval core, built once by each entry point.

Values come from the process environment, then a `.env` file, then defaults. Library code
receives a :class:`Settings` and never reads the environment itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from retrieval.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("var/index")
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    encoder: str = "int8"  # int8 | fp32 (ONNX Runtime) | torch; other models use torch
    model_cache: Path = Path("var/models")  # exported ONNX files
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


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def env_number(
    env: Mapping[str, str], name: str, default: float | None = None, low: float | None = None
) -> float | None:
    """A decimal setting, ``default`` when unset; a clear ConfigError when malformed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):  # nan compares false with every bound and would pass them
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if low is not None and value < low:
        raise ConfigError(f"{name} must be at least {low:g}, got {raw}")
    return value


def _path(env: Mapping[str, str], name: str, default: Path | None) -> Path | None:
    raw = env.get(name, "").strip()
    return Path(raw).expanduser() if raw else default


def merged_env(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """The process environment over the `.env` file (the environment wins)."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from an already merged mapping of variables."""
    d = Settings()
    chunk_tokens = _int(env, "NEWSQA_CHUNK_TOKENS", d.chunk_tokens, low=16)
    overlap = _int(env, "NEWSQA_CHUNK_OVERLAP", d.chunk_overlap)
    if overlap >= chunk_tokens:
        raise ConfigError("NEWSQA_CHUNK_OVERLAP must be smaller than NEWSQA_CHUNK_TOKENS")
    return Settings(
        corpus_dir=_path(env, "NEWSQA_CORPUS_DIR", d.corpus_dir) or d.corpus_dir,
        index_dir=_path(env, "NEWSQA_INDEX_DIR", d.index_dir) or d.index_dir,
        model=env.get("NEWSQA_MODEL", "").strip() or d.model,
        device=env.get("NEWSQA_DEVICE", "").strip() or d.device,
        encoder=_choice(env, "NEWSQA_ENCODER", d.encoder, ("int8", "fp32", "torch")),
        model_cache=_path(env, "NEWSQA_MODEL_CACHE", d.model_cache) or d.model_cache,
        chunk_tokens=chunk_tokens,
        chunk_overlap=overlap,
        batch_size=_int(env, "NEWSQA_BATCH_SIZE", d.batch_size, low=1),
        tiktoken_file=_path(env, "NEWSQA_TIKTOKEN_FILE", None),
        top_k=_int(env, "NEWSQA_TOP_K", d.top_k, low=1),
        max_question_chars=_int(env, "NEWSQA_MAX_QUESTION_CHARS", d.max_question_chars, low=10),
        abstain_threshold=env_number(env, "NEWSQA_ABSTAIN_THRESHOLD"),
        store=env.get("NEWSQA_STORE", "").strip(),
        milvus_token=env.get("NEWSQA_MILVUS_TOKEN", "").strip(),
        ann_min_chunks=_int(env, "NEWSQA_ANN_MIN_CHUNKS", d.ann_min_chunks, low=1),
        ray_address=env.get("NEWSQA_RAY_ADDRESS", "").strip(),
    )


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Settings from the environment (or ``environ``) over ``env_file`` over defaults."""
    return settings_from(merged_env(environ, env_file))
