"""`python -m bot` end to end: discord.py's real client, against the emulator, on a real index.

One bot process serves the whole module (loading the model takes seconds); each test talks
to it as a different user, so the per-user cooldown never gets in the way.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_asyncio

from retrieval.index.build import build_index
from retrieval.settings import Settings
from tests.discord_emulator import (
    MANAGE_GUILD,
    SEND_AND_READ,
    BotProcess,
    DiscordEmulator,
    Json,
    Recorded,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-token-Zm9vYmFy.do-not-log"
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6

EURONEWS = "http://www.euronews.com/2016/04/20/nato-russia-council-holds-talks-after-two-years/"
# A masked link as the formatter writes it: [label](<url>)
LINK = re.compile(r"(?<!\\)\[(?:\\.|[^\\\]\n])*\]\(<([^<>\s]+)>\)")
LIVE_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")

NEW_STORY = """### [2016-05-02](/news/2016/05/02/index.md)

# Zorblatt Island declares the kiwano its national fruit.

The parliament of Zorblatt Island voted unanimously to declare the kiwano its national fruit.

### Source:

1. [Zorblatt Gazette](https://zorblatt.example/2016/05/02/kiwano-national-fruit)
"""


@dataclass
class World:
    emu: DiscordEmulator
    bot: BotProcess
    settings: Settings


@pytest.fixture(scope="module")
def bot_index(tmp_path_factory: pytest.TempPathFactory, model) -> Settings:
    """A copy of the default corpus (so a test can add to it) and an index built over it."""
    root = tmp_path_factory.mktemp("bot")
    shutil.copytree(REPO / "corpus", root / "corpus")
    settings = replace(Settings(), corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings, encoder=model)
    return settings


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(bot_index: Settings) -> AsyncIterator[World]:
    emu = await DiscordEmulator().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))} | {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": emu.api_base,
        "DISCORD_GATEWAY_URL": emu.gateway_url,
        "DISCORD_ADMIN_ROLE": emu.admin_role_id,
        "DISCORD_COOLDOWN_SECONDS": "60",
        "DISCORD_MAX_CONCURRENT": "4",
        "NEWSQA_WATCH_SECONDS": "0",  # /reload alone swaps versions here (see test_bot_reload)
        "NEWSQA_CORPUS_DIR": str(bot_index.corpus_dir),
        "NEWSQA_INDEX_DIR": str(bot_index.index_dir),
    }
    bot = await BotProcess(env, cwd=str(REPO)).start("--env-file", os.devnull)
    try:
        await bot.wait_log(r"ready as", timeout=60)
        yield World(emu, bot, bot_index)
    finally:
        code = await bot.stop()
        await emu.stop()
    assert code == 0, bot.log


# -- helpers --------------------------------------------------------------------------


def corpus_text(settings: Settings) -> str:
    return " ".join(
        " ".join(p.read_text(encoding="utf-8").split())
        for p in sorted(settings.corpus_dir.iterdir())
    )


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def quote_of(content: str) -> str:
    """The quoted answer (bold and escapes removed) from a reply."""
    lines = [line[2:] for line in content.splitlines() if line.startswith("> ")]
    return unescape(" ".join(lines).replace("**", "")).strip("…")


async def mention(
    world: World, question: str, *, user: Json | None = None, also: Sequence[Json] = ()
) -> Json:
    """Inject "@bot question" from ``user`` (a new one by default), mentioning ``also`` too."""
    user = user or world.emu.user("asker")
    content = f"<@{world.emu.bot_user['id']}> {question}"
    return await world.emu.inject_message(
        content, author=user, mentions=[world.emu.bot_user, *also]
    )


async def reply_to(world: World, msg: Json, timeout: float = 10.0) -> Recorded:
    await world.emu.wait_until(lambda: bool(world.emu.replies_to(msg["id"])), timeout=timeout)
    [reply] = world.emu.replies_to(msg["id"])
    return reply


def assert_pings_nobody(body: Json) -> None:
    """Discord's allowed_mentions: nothing parsed, no users or roles listed, no reply ping."""
    allowed = body["allowed_mentions"]
    assert allowed["parse"] == []
    assert not allowed.get("users") and not allowed.get("roles")
    assert not allowed.get("replied_user", False)


def assert_corpus_answer(world: World, content: str, url: str | None = None) -> None:
    """The reply quotes the corpus verbatim and lists sources the corpus holds (as links
    where the document has a url); with ``url``, that link must be among them."""
    corpus = corpus_text(world.settings)
    quote = quote_of(content)
    assert len(quote) > 20, content
    assert quote in corpus, quote
    lines = content.splitlines()
    sources = [line[2:] for line in lines[lines.index("Sources:") + 1 :] if line.startswith("• ")]
    assert sources, content
    for source in sources:
        link = LINK.fullmatch(source)
        if link:  # the scheme may be rebuilt (proxied links), host and path are not
            assert link[1].split("://", 1)[1] in corpus, source
        else:
            title = unescape(source).split(" — ")[0].rstrip("…")
            assert title in corpus, source
    if url is not None:
        assert url in LINK.findall(content), content
    assert lines[-1].startswith("confidence: ")


# -- tests ----------------------------------------------------------------------------


async def test_startup_syncs_commands_without_privileged_intents(world: World) -> None:
    """The bot logs in, syncs /ask /help /reload, and identifies without privileged intents."""
    assert {c["name"] for c in world.emu.commands[None]} == {"ask", "help", "reload"}
    intents = world.emu.identifies[0]["intents"]
    privileged = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
    assert intents & privileged == 0
    assert intents & (1 << 9)  # guild messages


async def test_mention_gets_a_quoted_answer_with_source_link(world: World) -> None:
    """A mention is answered in its channel, as a reply, quoting the corpus with its link."""
    user = world.emu.user("alice")
    msg = await mention(world, "When did NATO reopen informal talks with Russia?", user=user)
    reply = await reply_to(world, msg)
    assert reply.path == f"/channels/{world.emu.channel_id}/messages"
    body = reply.json
    assert str(body["message_reference"]["message_id"]) == msg["id"]
    assert_pings_nobody(body)
    assert body["flags"] & SUPPRESS_EMBEDS
    assert len(body["content"]) <= 2000
    assert_corpus_answer(world, body["content"], EURONEWS)
    assert "talks with Russia" in quote_of(body["content"])
    [line] = await world.bot.wait_log(rf"answered via=mention user={user['id']} .*")
    assert re.search(r"latency_ms=\d+\.\d .*confidence=\d\.\d\d .*sources=\S+", line[0])


async def test_message_without_mention_is_ignored(world: World) -> None:
    """Chatter that does not mention the bot (even @everyone) gets no reply."""
    quiet = await world.emu.inject_message(
        "@everyone When did NATO reopen talks?", author=world.emu.user("chatty")
    )
    loud = await mention(world, "When did NATO reopen talks with Russia?")
    await reply_to(world, loud)  # handled after the first one
    assert world.emu.replies_to(quiet["id"]) == []


async def test_dm_question_is_answered(world: World) -> None:
    """A direct message needs no mention and is answered in the DM channel."""
    msg = await world.emu.inject_message(
        "Who will chair the NATO-Russia talks?", author=world.emu.user("dm-user"), dm=True
    )
    reply = await reply_to(world, msg)
    assert reply.path == f"/channels/{msg['channel_id']}/messages"
    assert "Stoltenberg" in quote_of(reply.json["content"])
    assert_corpus_answer(world, reply.json["content"])


async def test_mention_without_question_gets_help(world: World) -> None:
    """A bare mention explains how to ask."""
    msg = await mention(world, "")
    reply = await reply_to(world, msg)
    assert "/ask" in reply.json["content"] and "Mention me" in reply.json["content"]


async def test_thanks_gets_a_line_not_a_search(world: World) -> None:
    """ "thanks!" after an answer is small talk: a one-line reply, not "couldn't find"."""
    msg = await mention(world, "thanks!", user=world.emu.user("polite"))
    reply = await reply_to(world, msg)
    assert reply.json["content"].startswith("You're welcome")


async def test_slash_ask_is_deferred_then_answered(world: World) -> None:
    """/ask is acknowledged at once with a deferral, then answered by a follow-up."""
    sent = time.monotonic()
    inter = await world.emu.inject_slash(
        "ask", {"question": "When did NATO reopen informal talks with Russia?"},
        user=world.emu.user("slasher"),
    )  # fmt: skip
    callback_path = f"/interactions/{inter['id']}/{inter['token']}/callback"
    [callback] = await world.emu.wait_for(lambda r: r.path == callback_path)
    assert callback.json["type"] == 5  # deferred channel message
    assert callback.time - sent < 1.0  # far inside Discord's 3-second deadline
    await world.emu.wait_until(lambda: bool(world.emu.followups(inter)))
    [followup] = world.emu.followups(inter)
    assert followup.time >= callback.time
    assert followup.method == "POST" and followup.query.get("wait") in {"1", "true"}
    assert_pings_nobody(followup.json)
    assert_corpus_answer(world, followup.json["content"], EURONEWS)


async def test_slash_help_is_private(world: World) -> None:
    """/help answers immediately and only to the asker."""
    inter = await world.emu.inject_slash("help", user=world.emu.user("helpme"))
    [callback] = await world.emu.wait_for(lambda r: f"/{inter['id']}/" in r.path)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "/ask" in callback.json["data"]["content"]


async def test_twenty_concurrent_questions_are_all_answered(world: World) -> None:
    """20 users asking at once all get their own answer, each in reply to their message."""
    questions = [
        "When did NATO reopen informal talks with Russia?",
        "Who is Moscow's envoy to NATO?",
        "When was the NATO-Russia Council broken off?",
        "What did Stoltenberg say about practical cooperation?",
    ]
    msgs = await asyncio.gather(
        *(mention(world, questions[i % 4], user=world.emu.user(f"crowd{i}")) for i in range(20))
    )
    # While those are being answered, the event loop stays free: a slash command is
    # acknowledged at once instead of queueing behind 20 answers (~20 x 30 ms of CPU).
    sent = time.monotonic()
    inter = await world.emu.inject_slash("help", user=world.emu.user("bystander"))
    [ack] = await world.emu.wait_for(lambda r: f"/{inter['id']}/" in r.path)
    unanswered = sum(1 for m in msgs if not world.emu.replies_to(m["id"]))
    assert unanswered >= 10, unanswered  # the acknowledgement overtook most answers
    assert ack.time - sent < 0.5
    replies = await asyncio.gather(*(reply_to(world, m, timeout=30) for m in msgs))
    for msg, reply in zip(msgs, replies, strict=True):
        assert str(reply.json["message_reference"]["message_id"]) == msg["id"]
        assert_corpus_answer(world, reply.json["content"])
    envoy = [r.json["content"] for i, r in enumerate(replies) if i % 4 == 1]
    assert all("Grushko" in quote_of(c) for c in envoy), envoy
    for msg in msgs:
        await world.bot.wait_log(rf"answered via=mention user={msg['author']['id']} ")


async def test_rate_limited_reply_is_retried(world: World) -> None:
    """A 429 on the reply is waited out and retried; the answer still arrives once."""
    world.emu.rate_limit_next(
        1, path=rf"/channels/{world.emu.channel_id}/messages", retry_after=0.4
    )
    msg = await mention(world, "When did NATO reopen informal talks with Russia?")
    reply = await reply_to(world, msg)
    attempts = world.emu.replies_to(msg["id"], failed_too=True)
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 0.35
    assert_corpus_answer(world, reply.json["content"], EURONEWS)


async def test_resumes_after_the_gateway_drops(world: World) -> None:
    """After the connection drops the bot RESUMEs the session and keeps answering."""
    identifies = len(world.emu.identifies)
    await world.emu.drop_connection()
    await world.emu.wait_until(lambda: len(world.emu.resumes) == 1, timeout=20)
    assert world.emu.resumes[0]["token"] == TOKEN
    assert len(world.emu.identifies) == identifies  # resumed, not a new session
    await world.bot.wait_log("gateway session resumed")
    msg = await mention(world, "Who is Moscow's envoy to NATO?")
    reply = await reply_to(world, msg)
    assert "Grushko" in quote_of(reply.json["content"])


async def test_everyone_and_user_mentions_ping_nobody(world: World) -> None:
    """A question with @everyone and a user mention is answered with mentions disabled."""
    victim = world.emu.user("victim")
    msg = await mention(
        world, f"@everyone <@{victim['id']}> what did Stoltenberg say?", also=[victim]
    )
    reply = await reply_to(world, msg)
    assert_pings_nobody(reply.json)
    assert not LIVE_MENTION.search(reply.json["content"])


async def test_bad_question_gets_a_short_explanation(world: World) -> None:
    """A question with nothing to search for is answered with the engine's message."""
    msg = await mention(world, "🤔🤔🤔")
    reply = await reply_to(world, msg)
    assert reply.json["content"] == "Please ask a question in words: I found nothing to search for."


async def test_question_not_in_corpus_says_so(world: World) -> None:
    """A question the corpus cannot answer gets the short reply with the closest sources."""
    msg = await mention(world, "Who won the 1930 football world cup final in Montevideo?")
    reply = await reply_to(world, msg)
    content = reply.json["content"]
    assert content.startswith("I couldn't find that in the corpus.")
    assert "Closest sources:" in content


async def test_cooldown_warns_once_then_stays_quiet(world: World) -> None:
    """A second question inside the cooldown gets a friendly note; a third gets nothing."""
    user = world.emu.user("eager")
    first = await mention(world, "Who is Moscow's envoy to NATO?", user=user)
    await reply_to(world, first)
    second = await mention(world, "And when did they meet?", user=user)
    note = await reply_to(world, second)
    assert note.json["content"].startswith("One question at a time, please")
    third = await mention(world, "Hello?", user=user)
    probe = await mention(world, "Who is Moscow's envoy to NATO?")
    await reply_to(world, probe)  # processed after the third
    assert world.emu.replies_to(third["id"]) == []


async def test_reactions_on_an_answer_are_logged_with_the_question(world: World) -> None:
    """👍/👎 on an answer are logged with the question that was asked."""
    question = "What did Stoltenberg say about practical cooperation?"
    msg = await mention(world, question)
    reply = await reply_to(world, msg)
    reactor = world.emu.user("critic")
    await world.emu.inject_reaction(reply.response["id"], "👎", user=reactor)
    [line] = await world.bot.wait_log(rf"feedback emoji=👎 user={reactor['id']} ")
    assert f"message={reply.response['id']}" in line.string
    assert f"asker={msg['author']['id']}" in line.string
    assert repr(question) in line.string


async def test_non_admin_cannot_reload(world: World) -> None:
    """/reload from a member without Manage Server or the admin role is refused privately."""
    user = world.emu.user("not-admin")
    inter = await world.emu.inject_slash("reload", user=user, permissions=SEND_AND_READ)
    [callback] = await world.emu.wait_for(lambda r: f"/{inter['id']}/" in r.path)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "Only server admins" in callback.json["data"]["content"]
    await world.bot.wait_log(rf"reload refused user={user['id']}")
    assert not world.bot.find(r"reload by user=")


async def test_admin_reload_swaps_index_without_dropping_questions(world: World) -> None:
    """After a reindex an admin reloads; questions in flight are all answered, new docs found."""
    (world.settings.corpus_dir / "999_zorblatt.txt").write_text(NEW_STORY, encoding="utf-8")
    await asyncio.to_thread(build_index, world.settings)
    admin = world.emu.user("admin")
    in_flight = [
        await mention(world, "Who is Moscow's envoy to NATO?", user=world.emu.user(f"busy{i}"))
        for i in range(8)
    ]
    inter = await world.emu.inject_slash(
        "reload", user=admin, permissions=SEND_AND_READ, roles=[world.emu.admin_role_id]
    )
    await world.emu.wait_until(lambda: bool(world.emu.followups(inter)), timeout=30)
    [done] = world.emu.followups(inter)
    assert done.json["content"].startswith("Reloaded: now answering from index version")
    for msg in in_flight:
        assert "Grushko" in quote_of((await reply_to(world, msg)).json["content"])
    await world.bot.wait_log(rf"reload by user={admin['id']} changed=True")

    msg = await mention(world, "What did Zorblatt Island declare its national fruit?")
    reply = await reply_to(world, msg)
    assert "kiwano" in quote_of(reply.json["content"])
    assert "https://zorblatt.example/2016/05/02/kiwano-national-fruit" in LINK.findall(
        reply.json["content"]
    )

    manager = world.emu.user("manager")  # Manage Server is enough without the role
    inter = await world.emu.inject_slash(
        "reload", user=manager, permissions=SEND_AND_READ | MANAGE_GUILD
    )
    await world.emu.wait_until(lambda: bool(world.emu.followups(inter)), timeout=30)
    assert world.emu.followups(inter)[0].json["content"].startswith("Already up to date")


async def test_no_watcher_runs_when_watching_is_off(world: World) -> None:
    """NEWSQA_WATCH_SECONDS=0: no watcher starts, so only /reload swaps versions in."""
    assert world.bot.find(r"engine ready")
    assert not world.bot.find(r"for new index versions|swapped in")


async def test_logs_never_contain_the_token(world: World) -> None:
    """Nothing the bot logged so far carries the token."""
    assert world.bot.lines
    assert TOKEN not in world.bot.log
    assert "Zm9vYmFy" not in world.bot.log
