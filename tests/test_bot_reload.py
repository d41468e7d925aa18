"""`python -m bot` picks up a new index version by itself, while people keep asking.

A reindex in another process publishes a version with a new document; the bot's watcher
swaps it in with no admin command, no question fails, and later answers quote the new
document. Same emulator and helpers as ``test_bot_e2e``, but a bot of its own: this one
polls the index (every 0.5 s) and has no cooldown, so a few users can ask nonstop.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from bot.answering import APOLOGY
from retrieval.settings import Settings
from retrieval.store.faiss import current_version
from tests.discord_emulator import BotProcess, DiscordEmulator
from tests.test_bot_e2e import (
    LINK,
    NEW_STORY,
    TOKEN,
    World,
    assert_corpus_answer,
    mention,
    quote_of,
    reply_to,
)

REPO = Path(__file__).resolve().parents[1]
NEW_QUESTION = "What did Zorblatt Island declare its national fruit?"
NEW_URL = "https://zorblatt.example/2016/05/02/kiwano-national-fruit"
OLD_QUESTIONS = {  # question: a word its quoted answer must hold, before and after the swap
    "Who is Moscow's envoy to NATO?": "Grushko",
    "Who will chair the NATO-Russia talks?": "Stoltenberg",
}
QUESTIONS = [*OLD_QUESTIONS, NEW_QUESTION]
USERS = 4
PAUSE = 0.2  # between one user's questions: a busy channel, yet CPU left for the reindex


@dataclass(frozen=True)
class Asked:
    """One question of the stream and the reply it got."""

    user: int
    question: str
    phase: str  # when it was sent: "before" the reindex, "during" it, "after" the swap log
    reply: str


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))}


async def reindex(settings: Settings) -> str:
    """``python -m retrieval index`` in its own process; returns its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "retrieval", "--env-file", os.devnull, "index", "--no-progress",
        "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
        cwd=REPO, env=clean_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_new_version_is_swapped_in_under_load_without_reload(tmp_path: Path) -> None:
    """Four users keep asking while another process reindexes a grown corpus: the watcher
    swaps the new version in, every question is answered, and answers after the swap
    quote the new document (which nobody could find before)."""
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    settings = replace(Settings(), corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    emu = await DiscordEmulator().start()
    env = clean_env() | {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": emu.api_base,
        "DISCORD_GATEWAY_URL": emu.gateway_url,
        "DISCORD_COOLDOWN_SECONDS": "0",
        "DISCORD_MAX_CONCURRENT": "4",
        "NEWSQA_WATCH_SECONDS": "0.5",
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
        "NEWSQA_INDEX_DIR": str(settings.index_dir),  # empty: the bot builds it first
    }
    bot = await BotProcess(env, cwd=str(REPO)).start("--env-file", os.devnull)
    world = World(emu, bot, settings)
    phase = "before"
    stop = asyncio.Event()
    asked: list[Asked] = []
    askers: list[asyncio.Task[None]] = []

    async def ask_nonstop(n: int) -> None:
        user = emu.user(f"reader{n}")
        for i in itertools.count(n):
            if stop.is_set():
                return
            question, sent_in = QUESTIONS[i % len(QUESTIONS)], phase
            msg = await mention(world, question, user=user)
            reply = await reply_to(world, msg, timeout=30)
            asked.append(Asked(n, question, sent_in, reply.json["content"]))
            await asyncio.sleep(PAUSE)

    try:
        await bot.wait_log(r"ready as", timeout=60)
        await bot.wait_log(r"watching .* for new index versions every 0\.5s")
        old_version = current_version(settings.index_dir)
        askers += [asyncio.create_task(ask_nonstop(n)) for n in range(USERS)]
        await asyncio.sleep(1.5)

        phase = "during"
        (settings.corpus_dir / "999_zorblatt.txt").write_text(NEW_STORY, encoding="utf-8")
        output = await reindex(settings)
        new_version = current_version(settings.index_dir)
        assert new_version is not None and new_version != old_version, output
        swapped = rf"index version {re.escape(new_version)} swapped in: "
        [swap] = await bot.wait_log(swapped, timeout=10)

        phase = "after"
        await world.emu.wait_until(
            lambda: sum(a.phase == "after" for a in asked) >= 3 * USERS, timeout=30
        )
        stop.set()
        await asyncio.wait_for(asyncio.gather(*askers), 30)
    finally:
        for task in askers:
            task.cancel()  # only still running if the test failed above
        code = await bot.stop()
        await emu.stop()
    assert code == 0, bot.log

    # No failure at all: every question got exactly one reply (reply_to checks), none an
    # apology, and the bot logged no error. No admin command was involved.
    assert not [a for a in asked if a.reply == APOLOGY]
    assert not bot.find(r" ERROR "), bot.log
    assert not bot.find(r"reload by user=")
    assert len(bot.find(r" swapped in: ")) == 1
    assert re.search(r"swapped in: 15 documents", swap.string)  # 6 files, 9 Related items
    by_phase = {p: [a for a in asked if a.phase == p] for p in ("before", "during", "after")}
    counts = {p: len(v) for p, v in by_phase.items()}
    assert min(counts.values()) >= USERS, counts

    for a in asked:
        if a.question in OLD_QUESTIONS:  # answered right throughout, the swap included
            assert_corpus_answer(world, a.reply)
            assert OLD_QUESTIONS[a.question] in quote_of(a.reply), a
    new = {p: [a.reply for a in v if a.question == NEW_QUESTION] for p, v in by_phase.items()}
    assert new["before"] and new["after"]
    assert not any("kiwano" in r.lower() for r in new["before"]), new["before"]
    for r in new["after"]:
        assert "kiwano" in quote_of(r), r
        assert NEW_URL in LINK.findall(r), r
