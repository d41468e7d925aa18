"""The Discord emulator, proven with a plain discord.Client before the bot relies on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest
import yarl

from tests.discord_emulator import DiscordEmulator, Recorded

pytestmark = pytest.mark.asyncio


class EchoClient(discord.Client):
    """Replies "pong: <text>" to any message starting with "ping"."""

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not message.content.startswith("ping"):
            return
        await message.reply(
            "pong: " + message.content, allowed_mentions=discord.AllowedMentions.none()
        )


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emu:
        yield emu


@pytest.fixture
async def client(
    emulator: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EchoClient]:
    monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(emulator.gateway_url)
    )
    bot = EchoClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    task = asyncio.create_task(bot.start("test-token"))
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    yield bot
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def is_reply(r: Recorded) -> bool:
    return r.method == "POST" and r.path.endswith("/messages")


async def test_connect_identify_and_reply(emulator: DiscordEmulator, client: EchoClient) -> None:
    """The client logs in, identifies, sees the guild, and replies to a message with a reference."""
    assert client.user is not None and str(client.user.id) == emulator.bot_user["id"]
    assert [r.path for r in emulator.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
    assert emulator.identifies[0]["token"] == "test-token"
    assert client.get_guild(int(emulator.guild_id)) is not None

    user = emulator.user("alice")
    msg = await emulator.inject_message("ping one", author=user)
    [reply] = await emulator.wait_for(is_reply)
    assert reply.status == 200
    assert reply.path == f"/channels/{emulator.channel_id}/messages"
    assert reply.json["content"] == "pong: ping one"
    assert str(reply.json["message_reference"]["message_id"]) == msg["id"]
    assert reply.json["allowed_mentions"]["parse"] == []


async def test_dm_reply_goes_to_the_dm_channel(
    emulator: DiscordEmulator, client: EchoClient
) -> None:
    """A direct message is answered in its own channel, not the guild channel."""
    msg = await emulator.inject_message("ping dm", author=emulator.user("bob"), dm=True)
    [reply] = await emulator.wait_for(is_reply)
    assert reply.path == f"/channels/{msg['channel_id']}/messages"
    assert msg["channel_id"] != emulator.channel_id


async def test_429_is_retried_after_retry_after(
    emulator: DiscordEmulator, client: EchoClient
) -> None:
    """A 429 with Via and retry_after makes discord.py wait and retry; the reply arrives."""
    emulator.rate_limit_next(2, path=r"/channels/\d+/messages", retry_after=0.3)
    await emulator.inject_message("ping limited", author=emulator.user("carol"))
    done = await emulator.wait_for(lambda r: is_reply(r) and r.status == 200)
    attempts = [r for r in emulator.requests if is_reply(r)]
    assert [r.status for r in attempts] == [429, 429, 200]
    assert attempts[2].time - attempts[0].time >= 0.55
    assert done[0].json["content"] == "pong: ping limited"


@pytest.mark.parametrize("code", [None, 4000])
async def test_resume_after_drop(
    emulator: DiscordEmulator, client: EchoClient, code: int | None
) -> None:
    """After the connection drops the client RESUMEs; events sent meanwhile are replayed."""
    session_id = emulator.identifies[0] and client.ws.session_id
    await emulator.drop_connection(code)
    # Sent while the client is away: delivered by the replay after RESUME.
    await emulator.inject_message("ping while away", author=emulator.user("dave"))
    await emulator.wait_until(lambda: len(emulator.resumes) == 1, timeout=15)
    assert emulator.resumes[0]["session_id"] == session_id
    assert len(emulator.identifies) == 1  # resumed, not re-identified
    await emulator.wait_for(lambda r: is_reply(r) and r.json["content"] == "pong: ping while away")
    await emulator.inject_message("ping after", author=emulator.user("erin"))
    await emulator.wait_for(lambda r: is_reply(r) and r.json["content"] == "pong: ping after")
