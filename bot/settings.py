"""The bot's settings: Discord options plus the retrieval core's, built once in ``__main__``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import ConfigError
from retrieval.settings import Settings, env_number, merged_env, settings_from


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
    watch_seconds: float = 5.0  # how often to look for a new index version; 0: never
    api_base: str | None = None  # tests and self-hosted gateways only
    gateway_url: str | None = None  # tests and self-hosted gateways only


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").replace(",", " ").split()
    try:
        return frozenset(int(x) for x in raw)
    except ValueError:
        raise ConfigError(f"{name} must be channel ids separated by commas, got {raw!r}") from None


def _number(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    value = env_number(env, name, default, low)
    return default if value is None else value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name, "").strip().rstrip("/")
    if raw and not raw.startswith(schemes):
        raise ConfigError(f"{name} must start with {' or '.join(schemes)}, got {raw!r}")
    return raw or None


def bot_settings_from(env: Mapping[str, str]) -> BotSettings:
    """Build settings from an already merged mapping of variables."""
    role = env.get("DISCORD_ADMIN_ROLE", "").strip()
    guild = env.get("DISCORD_GUILD_ID", "").strip()
    if guild and not guild.isdigit():
        raise ConfigError(f"DISCORD_GUILD_ID must be a server id, got {guild!r}")
    return BotSettings(
        retrieval=settings_from(env),
        token=env.get("DISCORD_TOKEN", "").strip() or None,
        allowed_channel_ids=_ids(env, "DISCORD_ALLOWED_CHANNELS"),
        admin_role=(int(role) if role.isdigit() else role) or None,
        cooldown_seconds=_number(env, "DISCORD_COOLDOWN_SECONDS", 5.0, 0),
        max_concurrent=int(_number(env, "DISCORD_MAX_CONCURRENT", 4, 1)),
        command_guild_id=int(guild) if guild else None,
        watch_seconds=_number(env, "NEWSQA_WATCH_SECONDS", 5.0, 0),
        api_base=_url(env, "DISCORD_API_BASE", ("http://", "https://")),
        gateway_url=_url(env, "DISCORD_GATEWAY_URL", ("ws://", "wss://")),
    )


def load_bot_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> BotSettings:
    """Settings from the environment (or ``environ``) over ``env_file`` over defaults."""
    return bot_settings_from(merged_env(environ, env_file))
