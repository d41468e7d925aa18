"""The bot's own added latency: Discord round trip minus the time spent answering.

Runs ``python -m bot`` against the local Discord emulator (tests/discord_emulator.py),
asks questions one at a time by mention and by ``/ask``, and reads the bot's log for the
engine time of each answer. Prints p50/p95 in milliseconds; the target for the bot's added
latency is under 20 ms.

    python bench/bot_latency.py [-n 100] [--index DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.discord_emulator import Recorded

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 20.0
QUESTIONS = [
    "When did NATO reopen informal talks with Russia?",
    "Who is Moscow's envoy to NATO?",
    "When was the NATO-Russia Council broken off?",
    "What did Stoltenberg say about practical cooperation?",
    "Where will the NATO-Russia Council meet?",
]


def replying_to(message_id: str) -> Callable[[Recorded], bool]:
    def match(r: Recorded) -> bool:
        ref = r.json.get("message_reference", {}) if isinstance(r.json, dict) else {}
        return r.status == 200 and str(ref.get("message_id")) == message_id

    return match


def following_up(token: str) -> Callable[[Recorded], bool]:
    return lambda r: r.status == 200 and r.path.startswith("/webhooks/") and token in r.path


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94]


async def bench(n: int, index_dir: Path) -> dict[str, list[float]]:
    from tests.discord_emulator import BotProcess, DiscordEmulator

    emu = await DiscordEmulator().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSQA_"))}
    env |= {
        "DISCORD_TOKEN": "bench-token",
        "DISCORD_API_BASE": emu.api_base,
        "DISCORD_GATEWAY_URL": emu.gateway_url,
        "DISCORD_COOLDOWN_SECONDS": "0",
        "NEWSQA_CORPUS_DIR": str(REPO / "corpus"),
        "NEWSQA_INDEX_DIR": str(index_dir),
    }
    bot = await BotProcess(env, cwd=str(REPO)).start("--env-file", os.devnull)
    results: dict[str, list[float]] = {k: [] for k in ("round trip", "answer", "bot added")}
    results |= {"/ask defer": [], "/ask bot added": []}
    try:
        await bot.wait_log("ready as", timeout=120)
        for i in range(n + 5):  # the first five warm up connections and caches
            user = emu.user(f"bench{i}")
            question = QUESTIONS[i % len(QUESTIONS)]
            if i % 2 == 0:
                sent = time.monotonic()
                msg = await emu.inject_message(
                    f"<@{emu.bot_user['id']}> {question}", author=user, mentions=[emu.bot_user]
                )
                [reply] = await emu.wait_for(replying_to(msg["id"]))
                kind = ""
            else:
                sent = time.monotonic()
                inter = await emu.inject_slash("ask", {"question": question}, user=user)
                await emu.wait_for(following_up(inter["token"]))
                [reply] = emu.followups(inter)
                [defer] = [r for r in emu.requests if f"/{inter['id']}/" in r.path]
                kind = "/ask "
            [line] = await bot.wait_log(rf"message={reply.response['id']} .*answer_ms=([\d.]+)")
            if i < 5:
                continue
            rtt = (reply.time - sent) * 1000
            answer_ms = float(line[1])
            if kind:
                results["/ask defer"].append((defer.time - sent) * 1000)
                results["/ask bot added"].append(rtt - answer_ms)
            else:
                results["round trip"].append(rtt)
                results["answer"].append(answer_ms)
                results["bot added"].append(rtt - answer_ms)
    finally:
        await bot.stop()
        await emu.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=100, help="questions to time (default 100)")
    p.add_argument("--index", type=Path, help="an index of corpus/ (default: built in a temp dir)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))  # for tests.discord_emulator
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(bench(args.n, args.index or Path(tmp) / "index"))
    print(f"bot latency over {args.n} questions (half by mention, half by /ask), in ms")
    print(f"{'':18} {'p50':>8} {'p95':>8}")
    for name, values in results.items():
        if len(values) >= 2:
            p50, p95 = percentiles(values)
            print(f"{name:18} {p50:8.1f} {p95:8.1f}")
    _, p95 = percentiles(results["bot added"] + results["/ask bot added"])
    verdict = "within" if p95 < TARGET_MS else "OVER"
    print(f"bot added p95 {p95:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
