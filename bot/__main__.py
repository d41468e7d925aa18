"""``python -m bot``: load the engine, then serve Discord (or a local console without a token)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import discord

from retrieval.answer.qa import QA
from retrieval.encoder.factory import load_encoder
from retrieval.errors import ConfigError, IndexMissingError, NewsQAError
from retrieval.index.build import build_index
from retrieval.settings import Settings

from .answering import watch_index
from .client import NewsBot, use_endpoints
from .console import run_console
from .settings import BotSettings, load_bot_settings

log = logging.getLogger("bot")


class _Redact(logging.Filter):
    """Belt and braces: no log line ever carries the token, whoever wrote it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[token]"), None
        return True


def setup_logging(verbose: bool, token: str | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    if token:
        handler.addFilter(_Redact(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # discord.py's INFO lines are useful; its voice warnings and HTTP chatter are not.
        logging.getLogger("discord.client").setLevel(logging.ERROR)
        for noisy in ("sentence_transformers", "httpx", "huggingface_hub", "faiss", "bm25s",
                      "milvus_lite"):  # fmt: skip
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # pymilvus logs each failed call with a traceback; the store turns them into one line.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)


def open_engine(settings: Settings) -> QA:
    """Load the model and index, building the index from the corpus first if there is none."""
    try:
        qa = QA.open(settings)
    except IndexMissingError:
        log.info(
            "no index at %s yet: building it from %s",
            settings.store or settings.index_dir,
            settings.corpus_dir,
        )
        encoder = load_encoder(settings)  # loaded once, for both steps
        report = build_index(settings, encoder=encoder, progress=sys.stderr.isatty())
        log.info("built index version %s (%d documents)", report.version, report.documents)
        qa = QA.open(settings, encoder=encoder)
    qa.warmup()
    log.info("engine ready: index version %s", qa.version)
    return qa


async def _serve(client: NewsBot, token: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))
    async with client:
        await client.start(token)


def run_bot(settings: BotSettings, qa: QA) -> int:
    assert settings.token is not None
    use_endpoints(settings.api_base, settings.gateway_url)
    try:
        asyncio.run(_serve(NewsBot(settings, qa), settings.token))
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_TOKEN: check the bot token in .env")
        return 1
    except discord.PrivilegedIntentsRequired:  # pragma: no cover - the bot asks for none
        log.error("Discord refused the gateway intents this bot asked for")
        return 1
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        # Logging in is the first call: a network down, a DNS failure or a wrong
        # DISCORD_API_BASE ends here. Once connected, discord.py reconnects by itself.
        where = settings.api_base or "discord.com"
        log.error("cannot reach Discord at %s: %s", where, _one_line(exc))
        return 1
    except discord.HTTPException as exc:
        log.error("Discord refused to log in: HTTP %s %s", exc.status, _one_line(exc.text))
        return 1
    log.info("stopped")
    return 0


def _one_line(what: object) -> str:
    text = " ".join(str(what).split())
    return text[:200] or type(what).__name__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions about the news corpus in Discord. Without "
        "DISCORD_TOKEN, answer typed questions in a local console instead.",
    )
    p.add_argument("--env-file", type=Path, default=Path(".env"), help="settings file (.env)")
    p.add_argument("--console", action="store_true", help="use the console even with a token")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    notes: list[str] = []  # warnings about .env, logged once logging is set up
    try:
        settings = load_bot_settings(env_file=args.env_file, warn=notes.append)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.verbose, settings.token)
    for note in notes:
        log.warning("%s", note)
    try:
        qa = open_engine(settings.retrieval)
    except NewsQAError as exc:
        log.error("%s", exc)
        return 1
    watcher = watch_index(qa, settings.watch_seconds)
    try:
        if settings.token is None or args.console:
            return run_console(qa, sys.stdin, sys.stdout)
        return run_bot(settings, qa)
    finally:
        if watcher is not None:
            watcher.stop()  # the event loop has ended: blocking here holds nothing up


if __name__ == "__main__":
    sys.exit(main())
