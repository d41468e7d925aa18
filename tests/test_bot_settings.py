"""Bot settings from the environment, the per-user cooldown and the channel allow-list."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from bot.answering import Cooldown
from bot.client import channel_allowed
from bot.settings import load_bot_settings
from retrieval.errors import ConfigError


def test_defaults_without_token_mean_console(tmp_path: Path) -> None:
    """Nothing set: no token (so the console runs), every channel, defaults for the rest."""
    s = load_bot_settings({}, env_file=None)
    assert s.token is None
    assert s.allowed_channel_ids == frozenset()
    assert s.admin_role is None and s.command_guild_id is None
    assert s.api_base is None and s.gateway_url is None
    assert s.cooldown_seconds == 5.0 and s.max_concurrent == 4
    assert s.watch_seconds == 5.0
    assert s.retrieval.corpus_dir == Path("corpus")


def test_all_variables_are_read(tmp_path: Path) -> None:
    """Every DISCORD_* variable lands in its field; NEWSQA_* ones reach the core's settings."""
    env = {
        "DISCORD_TOKEN": " abc.def ",
        "DISCORD_ALLOWED_CHANNELS": "1, 2,3",
        "DISCORD_ADMIN_ROLE": "42",
        "DISCORD_COOLDOWN_SECONDS": "2.5",
        "DISCORD_MAX_CONCURRENT": "8",
        "DISCORD_GUILD_ID": "99",
        "DISCORD_API_BASE": "http://127.0.0.1:1/api/v10/",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:1/gateway",
        "NEWSQA_INDEX_DIR": str(tmp_path),
        "NEWSQA_WATCH_SECONDS": "0.5",
    }
    s = load_bot_settings(env, env_file=None)
    assert s.token == "abc.def"
    assert s.allowed_channel_ids == {1, 2, 3}
    assert s.admin_role == 42
    assert s.cooldown_seconds == 2.5 and s.max_concurrent == 8
    assert s.command_guild_id == 99
    assert s.api_base == "http://127.0.0.1:1/api/v10"
    assert s.gateway_url == "ws://127.0.0.1:1/gateway"
    assert s.retrieval.index_dir == tmp_path
    assert s.watch_seconds == 0.5
    assert load_bot_settings({"NEWSQA_WATCH_SECONDS": "0"}, None).watch_seconds == 0
    assert load_bot_settings({"DISCORD_ADMIN_ROLE": "Moderators"}, None).admin_role == "Moderators"


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    """.env supplies values; the process environment overrides them."""
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\nDISCORD_MAX_CONCURRENT=3\n")
    s = load_bot_settings({"DISCORD_MAX_CONCURRENT": "5"}, env_file=env_file)
    assert s.token == "from-file" and s.max_concurrent == 5


def test_token_is_not_in_repr() -> None:
    """Printing the settings never shows the token."""
    s = load_bot_settings({"DISCORD_TOKEN": "sekrit-token"}, env_file=None)
    assert "sekrit" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_ALLOWED_CHANNELS", "general"),
        ("DISCORD_COOLDOWN_SECONDS", "-1"),
        ("DISCORD_MAX_CONCURRENT", "0"),
        ("DISCORD_GUILD_ID", "my-server"),
        ("DISCORD_GATEWAY_URL", "http://not-a-websocket"),
        ("NEWSQA_WATCH_SECONDS", "-1"),
        ("NEWSQA_WATCH_SECONDS", "often"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    """A bad value raises ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=name):
        load_bot_settings({name: value}, env_file=None)


def test_cooldown_allows_after_the_wait_and_warns_once() -> None:
    """One question per window; the first early retry is warned about, later ones are not."""
    now = [100.0]
    cd = Cooldown(10, clock=lambda: now[0])
    assert cd.hit(1) == (0.0, False)
    now[0] = 103
    assert cd.hit(1) == (7.0, True)
    assert cd.hit(1) == (7.0, False)
    assert cd.hit(2) == (0.0, False)  # other users are not affected
    now[0] = 110.5
    assert cd.hit(1) == (0.0, False)
    now[0] = 111
    assert cd.hit(1) == (9.5, True)  # a new window warns again


def test_zero_cooldown_never_refuses() -> None:
    """DISCORD_COOLDOWN_SECONDS=0 turns the cooldown off."""
    cd = Cooldown(0, clock=lambda: 5.0)
    assert all(cd.hit(1) == (0.0, False) for _ in range(3))


def test_channel_allow_list() -> None:
    """Listed channels and threads under them are answered; others not; DMs always."""
    listed, other = SimpleNamespace(id=1, parent_id=None), SimpleNamespace(id=2, parent_id=None)
    thread = SimpleNamespace(id=3, parent_id=1)
    dm = discord.DMChannel.__new__(discord.DMChannel)
    assert channel_allowed(frozenset({1}), listed)
    assert channel_allowed(frozenset({1}), thread)
    assert not channel_allowed(frozenset({1}), other)
    assert channel_allowed(frozenset({1}), dm)
    assert channel_allowed(frozenset(), other)  # no list: everywhere
