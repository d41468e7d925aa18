"""The bot's settings: the ``DISCORD_*`` variables, declared and parsed like the engine's
``NEWSQA_*`` ones (``retrieval.settings``), built once in ``__main__``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import ConfigError
from retrieval.settings import (
    DAY_SECONDS,
    SETTINGS_VARS,
    Settings,
    Var,
    number,
    parse_vars,
    read_env,
    settings_from,
    text,
    whole,
)

log = logging.getLogger(__name__)

_SNOWFLAKE_MAX = 2**64 - 1  # Discord ids are unsigned 64-bit numbers


@dataclass(frozen=True)
class BotSettings:
    """Everything ``python -m bot`` needs. ``token`` is None to run the local console."""

    retrieval: Settings
    token: str | None = field(default=None, repr=False)  # never printed or logged
    allowed_channel_ids: frozenset[int] = frozenset()  # empty: every channel
    admin_role: int | str | None = None  # a role id or name; Manage Server always counts
    cooldown_seconds: float = 5.0
    max_concurrent: int = 4
    command_guild_id: int | None = None  # sync slash commands to one guild (instant) or global
    thread_answers: bool = False  # answer a fresh channel question in a thread of its own
    api_base: str | None = None  # tests and self-hosted gateways only
    gateway_url: str | None = None  # tests and self-hosted gateways only

    @property
    def watch_seconds(self) -> float:
        """How often to look for a new index version (NEWSQA_WATCH_SECONDS); 0: never."""
        return self.retrieval.watch_seconds


def _snowflake(name: str, raw: str, what: str) -> int:
    # isdigit() is true for "²" and "٣", which are no ids: ASCII digits only.
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= _SNOWFLAKE_MAX:
        raise ConfigError(f"{name} must be {what} (a number of digits 0-9), got {raw!r}")
    return int(raw)


def server_id(name: str, raw: str) -> int:
    return _snowflake(name, raw, "a server id")


def channel_ids(name: str, raw: str) -> frozenset[int]:
    return frozenset(_snowflake(name, x, "channel ids separated by commas")
                     for x in raw.replace(",", " ").split())  # fmt: skip


def role(name: str, raw: str) -> int | str:
    """A role id, or a role's name."""
    return _snowflake(name, raw, "a role id") if raw.isascii() and raw.isdigit() else raw


def flag(name: str, raw: str) -> bool:
    """On or off: 1/0, true/false, yes/no, on/off (any case)."""
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false, yes/no), got {raw!r}")


def url(*schemes: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if not raw.startswith(schemes):
            raise ConfigError(f"{name} must start with {' or '.join(schemes)}, got {raw!r}")
        return raw.rstrip("/")

    return parse


BOT_VARS = (
    Var("DISCORD_TOKEN", "token", text),
    Var("DISCORD_ALLOWED_CHANNELS", "allowed_channel_ids", channel_ids),
    Var("DISCORD_ADMIN_ROLE", "admin_role", role),
    Var("DISCORD_COOLDOWN_SECONDS", "cooldown_seconds", number(0, DAY_SECONDS)),
    Var("DISCORD_MAX_CONCURRENT", "max_concurrent", whole(1, 64)),
    Var("DISCORD_GUILD_ID", "command_guild_id", server_id),
    Var("DISCORD_THREAD_ANSWERS", "thread_answers", flag),
    Var("DISCORD_API_BASE", "api_base", url("http://", "https://")),
    Var("DISCORD_GATEWAY_URL", "gateway_url", url("ws://", "wss://")),
)


def bot_settings_from(env: Mapping[str, str]) -> BotSettings:
    """Build settings from an already merged mapping of variables."""
    return BotSettings(retrieval=settings_from(env), **parse_vars(env, BOT_VARS))


def load_bot_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    warn: Callable[[str], object] = log.warning,
) -> BotSettings:
    """Settings from the environment (or ``environ``) over ``env_file`` over defaults;
    unknown NEWSQA_* and DISCORD_* keys in ``env_file`` are passed to ``warn``."""
    known = {v.name for v in (*SETTINGS_VARS, *BOT_VARS)}
    env = read_env(environ, env_file, known, ("NEWSQA_", "DISCORD_"), warn)
    return bot_settings_from(env)
