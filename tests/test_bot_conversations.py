"""Conversations in Discord, end to end: `python -m bot` (discord.py's real client) against
the emulator, on an index of the default corpus. Replies, threads, DMs, the "More" and
"Sources" buttons, and the bound on remembered conversations."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_asyncio

from retrieval.index.build import build_index
from retrieval.settings import Settings
from tests.discord_emulator import BotProcess, DiscordEmulator, Json, Recorded

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[1]
EPHEMERAL = 1 << 6
FIRST = "When did NATO announce the council meeting?"
FOLLOW = "Where will it be held?"
TAKEN = "-# Taken as: Where will the council meeting be held?\n"


@dataclass
class World:
    emu: DiscordEmulator
    bot: BotProcess


@pytest.fixture(scope="module")
def conv_index(tmp_path_factory: pytest.TempPathFactory, model) -> Settings:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("conv-bot")
    settings = replace(Settings(), corpus_dir=REPO / "corpus", index_dir=root / "index")
    build_index(settings, encoder=model)
    return settings


async def start_bot(settings: Settings, **extra: str) -> World:
    emu = await DiscordEmulator().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))} | {
        "DISCORD_TOKEN": "test-token-conversations",
        "DISCORD_API_BASE": emu.api_base,
        "DISCORD_GATEWAY_URL": emu.gateway_url,
        "DISCORD_COOLDOWN_SECONDS": "0",
        "NEWSQA_WATCH_SECONDS": "0",
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        # At most two conversations: the third evicts the least recently used.
        "NEWSQA_CONVERSATIONS_MAX": "2",
        **extra,
    }
    bot = await BotProcess(env, cwd=str(REPO)).start("--env-file", os.devnull)
    await bot.wait_log(r"ready as", timeout=60)
    return World(emu, bot)


async def stop_bot(world: World) -> None:
    code = await world.bot.stop()
    await world.emu.stop()
    assert code == 0, world.bot.log


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(conv_index: Settings) -> AsyncIterator[World]:
    w = await start_bot(conv_index)
    try:
        yield w
    finally:
        await stop_bot(w)


# -- helpers --------------------------------------------------------------------------


async def ask(world: World, question: str, *, user: Json, mention: bool = True,
              **where: object) -> Json:  # fmt: skip
    """Inject ``question`` from ``user`` (mentioning the bot unless told not to)."""
    bot = world.emu.bot_user
    content = f"<@{bot['id']}> {question}" if mention else question
    return await world.emu.inject_message(
        content,
        author=user,
        mentions=[bot] if mention else [],
        **where,  # type: ignore[arg-type]
    )


async def answer_in(world: World, channel_id: str, after: int) -> Recorded:
    """The bot's first new message in ``channel_id`` after request number ``after``."""

    def sent() -> list[Recorded]:
        return [
            r for r in world.emu.requests[after:]
            if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
            and r.status == 200
        ]  # fmt: skip

    await world.emu.wait_until(lambda: bool(sent()), timeout=20)
    return sent()[0]


async def reply_to(world: World, msg: Json) -> Recorded:
    await world.emu.wait_until(lambda: bool(world.emu.replies_to(msg["id"])), timeout=20)
    return world.emu.replies_to(msg["id"])[0]


def buttons(message: Json) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def answered_log(world: World, message_id: str) -> str:
    [m] = await world.bot.wait_log(rf"answered via=\S+ .* message={message_id} .*")
    return m[0]


# -- tests ----------------------------------------------------------------------------


async def test_reply_continues_and_a_fresh_mention_does_not(world: World) -> None:
    """A reply to the bot's answer is read with that answer's context; the same words in
    a fresh mention from another user in the same channel start a new conversation."""
    alice, bob = world.emu.user("alice"), world.emu.user("bob")
    first = await reply_to(world, await ask(world, FIRST, user=alice))
    answer = world.emu.messages[first.response["id"]]
    assert buttons(answer) == ["newsqa:answer:more", "newsqa:answer:sources"]

    fresh = await reply_to(world, await ask(world, FOLLOW, user=bob))
    assert not fresh.json["content"].startswith("-# Taken as")
    assert re.search(r"via=mention .* turn=1 kind=question", await answered_log(
        world, fresh.response["id"]))  # fmt: skip

    msg = await ask(world, FOLLOW, user=alice, reply_to=answer)
    follow = await reply_to(world, msg)
    content = follow.json["content"]
    assert content.startswith(TAKEN), content
    assert "Brussels" in content
    line = await answered_log(world, follow.response["id"])
    assert re.search(r"via=reply .* conversation=message:\d+ turn=2 kind=follow-up", line)

    # A reply without a mention still continues, with its text (the ping is optional).
    msg = await ask(world, "source?", user=bob, mention=False,
                    reply_to=world.emu.messages[follow.response["id"]])  # fmt: skip
    sources = await reply_to(world, msg)
    assert sources.json["content"].startswith("Sources of that answer:\n• ")
    assert "NATO set for first formal talks" in sources.json["content"]


async def test_thread_mentions_and_ask_continue_the_thread(world: World) -> None:
    """In a thread, a mention from anyone, or /ask, continues the thread's conversation."""
    carol, dave = world.emu.user("carol"), world.emu.user("dave")
    thread = await world.emu.open_thread("NATO council", owner=carol)
    before = len(world.emu.requests)
    await ask(world, FIRST, user=carol, channel_id=thread["id"])
    await answer_in(world, thread["id"], before)
    before = len(world.emu.requests)
    await ask(world, FOLLOW, user=dave, channel_id=thread["id"])
    follow = await answer_in(world, thread["id"], before)
    assert follow.json["content"].startswith(TAKEN)
    line = await answered_log(world, follow.response["id"])
    assert f"via=thread user={dave['id']}" in line and f"conversation=thread:{thread['id']}" in line

    inter = await world.emu.inject_slash("ask", {"question": "more"}, user=carol, thread=thread)
    await world.emu.wait_until(lambda: bool(world.emu.followups(inter)), timeout=20)
    [more] = world.emu.followups(inter)
    assert more.json["content"].startswith("> ")
    assert "Brussels" not in more.json["content"]  # a new sentence of the same story
    assert re.search(r"via=slash .* turn=3 kind=more", await answered_log(
        world, more.response["id"]))  # fmt: skip


async def test_dm_questions_form_one_conversation(world: World) -> None:
    """Direct messages in a row are one conversation."""
    erin = world.emu.user("erin")
    dm = world.emu.snowflake()
    await reply_to(world, await ask(world, FIRST, user=erin, mention=False, dm=True, dm_channel=dm))
    follow = await reply_to(world, await ask(world, FOLLOW, user=erin, mention=False, dm=True,
                                             dm_channel=dm))  # fmt: skip
    assert follow.json["content"].startswith(TAKEN)
    assert f"conversation=dm:{dm}" in await answered_log(world, follow.response["id"])


async def test_buttons_answer_in_place_for_the_clicker(world: World) -> None:
    """ "More" and "Sources" answer privately whoever clicks; "More" again goes further;
    a button of an answer the bot no longer remembers says it has expired."""
    frank, gina = world.emu.user("frank"), world.emu.user("gina")
    # Asked of an article (several sentences to give), not of a one-line event page.
    first = await reply_to(world, await ask(world, "Who is Moscow's envoy to NATO?", user=frank))
    answer = world.emu.messages[first.response["id"]]
    quotes = [first.json["content"].split("\n")[0]]
    for _ in range(2):
        click = await world.emu.inject_button(answer, "newsqa:answer:more", user=gina)
        await world.emu.wait_until(lambda c=click: bool(world.emu.followups(c)), timeout=20)
        [callback] = world.emu.callbacks(click)
        assert callback.json["type"] == 5 and callback.json["data"]["flags"] & EPHEMERAL
        [more] = world.emu.followups(click)
        assert more.json["flags"] & EPHEMERAL
        quote = more.json["content"].split("\n")[0]
        assert quote.startswith("> ") and quote not in quotes
        quotes.append(quote)
    click = await world.emu.inject_button(answer, "newsqa:answer:sources", user=gina)
    await world.emu.wait_until(lambda: bool(world.emu.followups(click)), timeout=20)
    [sources] = world.emu.followups(click)
    assert sources.json["content"].startswith("Sources of that answer:\n• ")

    forgotten = dict(answer, id=world.emu.snowflake())  # e.g. sent before a restart
    click = await world.emu.inject_button(forgotten, "newsqa:answer:more", user=gina)
    [callback] = await world.emu.wait_for(
        lambda r: r.path.startswith(f"/interactions/{click['id']}/")
    )
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] & EPHEMERAL
    assert "expired" in callback.json["data"]["content"]


async def test_conversations_beyond_the_limit_are_forgotten(world: World) -> None:
    """With NEWSQA_CONVERSATIONS_MAX=2, a third conversation evicts the least recent: a
    reply to its answer then starts afresh instead of following on."""
    hal = world.emu.user("hal")
    first = await reply_to(world, await ask(world, FIRST, user=hal))
    for name in ("ivy", "jon"):  # two newer conversations
        await reply_to(world, await ask(world, "Who is Moscow's envoy to NATO?",
                                        user=world.emu.user(name)))  # fmt: skip
    msg = await ask(world, FOLLOW, user=hal, reply_to=world.emu.messages[first.response["id"]])
    late = await reply_to(world, msg)
    assert not late.json["content"].startswith("-# Taken as")
    line = await answered_log(world, late.response["id"])
    assert re.search(r"via=reply .* turn=1 kind=question", line), line


async def test_thread_answers_setting_opens_a_thread(conv_index: Settings) -> None:
    """With DISCORD_THREAD_ANSWERS=on, a channel question is answered in a new thread
    named after it, where a follow-up mention continues the conversation."""
    w = await start_bot(conv_index, DISCORD_THREAD_ANSWERS="on")
    try:
        kim = w.emu.user("kim")
        msg = await ask(w, FIRST, user=kim)
        [opened] = await w.emu.wait_for(lambda r: r.path.endswith(f"/messages/{msg['id']}/threads"))
        assert opened.json["name"] == FIRST
        thread_id = opened.response["id"]
        await answer_in(w, thread_id, 0)
        before = len(w.emu.requests)
        await ask(w, FOLLOW, user=kim, channel_id=thread_id)
        follow = await answer_in(w, thread_id, before)
        assert follow.json["content"].startswith(TAKEN)
        assert w.emu.replies_to(msg["id"]) == []  # nothing posted in the channel itself
    finally:
        await stop_bot(w)
