"""The Discord adapter: questions arrive by mention, DM, reply or ``/ask``; answers go back
as text with "More" and "Sources" buttons.

Nothing here computes: questions go to :class:`~bot.answering.Answerer` (worker threads),
replies are formatted by :mod:`retrieval.converse.render`, and every send uses
``AllowedMentions.none()`` and suppresses link embeds, so the bot never pings or spams.

Where a conversation lives: a reply to one of the bot's answers continues that answer's
conversation; in a thread, a mention or ``/ask`` continues the thread's; in a DM, the
DM's (forgotten after NEWSQA_CONVERSATION_IDLE_SECONDS of silence); a fresh mention or
``/ask`` in a channel starts a new one (in a new thread of its own with
DISCORD_THREAD_ANSWERS).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import discord
import yarl
from discord import app_commands

from retrieval.answer.qa import QA
from retrieval.answer.render import format_help, small_talk, wants_help
from retrieval.errors import NewsQAError

from .answering import APOLOGY, Answerer, Asked, Cooldown, RecentAnswers, Reply
from .settings import BotSettings
from .views import AnswerButton, answer_view

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
EXPIRED = (
    "This answer has expired (I no longer remember it): ask the question again, "
    "or reply to the answer with a new question."
)
THREAD_NAME_LIMIT = 100  # Discord's longest thread name


def use_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another REST base and gateway (tests, self-hosted gateways).

    discord.py reads these class attributes when it builds a request or connects, so this is
    called once, by the entry point, before the client starts.
    """
    if api_base:
        discord.http.Route.BASE = api_base
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def intents() -> discord.Intents:
    """Only what the bot uses, none of it privileged: mentions and DMs carry their content."""
    i = discord.Intents.none()
    i.guilds = True
    i.guild_messages = True
    i.dm_messages = True
    i.guild_reactions = True
    i.dm_reactions = True
    return i


def channel_allowed(allowed: frozenset[int], channel: object) -> bool:
    """Whether to answer in ``channel``: any channel without an allow-list, DMs always,
    threads when their parent channel is listed."""
    if not allowed or isinstance(channel, discord.DMChannel | discord.GroupChannel):
        return True
    return bool({getattr(channel, "id", None), getattr(channel, "parent_id", None)} & allowed)


def _channel_name(channel: object) -> str:
    if isinstance(channel, discord.DMChannel | discord.GroupChannel) or channel is None:
        return "dm"
    return str(getattr(channel, "id", "?"))


def _view_for(reply: Reply) -> discord.ui.View | None:
    """The buttons an answer gets: "More" under a quote, "Sources" where there are some."""
    turn, a = reply.turn, reply.answer
    if turn is None or a is None or turn.kind == "sources":
        return None
    return answer_view(more=not a.abstained and bool(a.text), sources=bool(a.sources))


@dataclass(frozen=True)
class Refusal:
    """Why a question is not answered. In channels a quiet refusal sends nothing (repeated
    cooldown hits, channels off the allow-list); slash commands always get it privately."""

    text: str
    quiet: bool


class NewsBot(discord.Client):
    """Answers questions about the news corpus in Discord."""

    def __init__(self, settings: BotSettings, qa: QA) -> None:
        super().__init__(intents=intents(), allowed_mentions=NO_MENTIONS)
        self.settings = settings
        self.answerer = Answerer(qa, settings.max_concurrent)
        self.cooldown = Cooldown(settings.cooldown_seconds)
        self.recent = RecentAnswers()
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self._add_commands()

    # -- slash commands ----------------------------------------------------------------

    def _add_commands(self) -> None:
        anywhere = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)

        @self.tree.command(name="ask", description="Ask a question about the news corpus")
        @app_commands.describe(question="What do you want to know?")
        @anywhere
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await self.ask_slash(interaction, question)

        @self.tree.command(name="help", description="How to ask me questions")
        @anywhere
        async def help_(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                format_help(), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

        @self.tree.command(name="reload", description="Admins: load the newest index now")
        @app_commands.guild_only()
        async def reload(interaction: discord.Interaction) -> None:
            await self.reload_slash(interaction)

    async def setup_hook(self) -> None:
        # Buttons of every answer, including those sent before a restart, come back here.
        self.add_dynamic_items(AnswerButton)
        guild_id = self.settings.command_guild_id
        try:
            if guild_id is not None:
                # Guild commands appear at once; global ones can take a while to propagate.
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException as exc:
            # Mentions and DMs still work, and the last synced commands stay registered.
            log.warning("could not sync slash commands (%s); answering mentions anyway", exc)
            return
        log.info(
            "synced slash commands %s to %s",
            ", ".join("/" + c.name for c in synced),
            f"guild {guild_id}" if guild_id else "all servers",
        )

    async def ask_slash(self, interaction: discord.Interaction, question: str) -> None:
        received = time.perf_counter()
        # Everything before defer() is instant: Discord allows 3 seconds for a first response.
        refusal = self._refusal(interaction.channel, interaction.user.id)
        if refusal is not None:
            await interaction.response.send_message(refusal.text, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            key = f"thread:{channel.id}"
        elif isinstance(channel, discord.DMChannel) or interaction.guild is None:
            key = f"dm:{interaction.channel_id}"
        else:
            key = f"slash:{interaction.id}"
        reply = await self.answerer.reply(
            question, asked_at=interaction.created_at, conversation=key
        )
        view = _view_for(reply)
        if view is None:
            sent = await interaction.followup.send(
                reply.text, allowed_mentions=NO_MENTIONS, suppress_embeds=True, wait=True
            )
        else:
            sent = await interaction.followup.send(
                reply.text, allowed_mentions=NO_MENTIONS, suppress_embeds=True, wait=True,
                view=view,
            )  # fmt: skip
        self._answered(
            "slash", interaction.user.id, channel, question, reply, sent.id, received, key
        )

    async def reload_slash(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        if not self.is_admin(interaction):
            log.warning("reload refused user=%s: not an admin", user.id)
            await interaction.response.send_message(
                "Only server admins can reload the index.", ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            changed = await self.answerer.reload()
        except NewsQAError as exc:
            log.error("reload by user=%s failed: %s", user.id, exc)
            text = f"Reload failed, still serving version {self.answerer.version}: {exc}"
        else:
            version = self.answerer.version
            log.info("reload by user=%s changed=%s version=%s", user.id, changed, version)
            text = (
                f"Reloaded: now answering from index version {version}."
                if changed
                else f"Already up to date (index version {version})."
            )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server permission, or the configured admin role (by id or name)."""
        member = interaction.user
        if interaction.guild is None or not isinstance(member, discord.Member):
            return False
        if interaction.permissions.manage_guild:
            return True
        role = self.settings.admin_role
        if role is None:
            return False
        return any(r.id == role or r.name == role for r in member.roles)

    async def _on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("slash command failed user=%s", interaction.user.id, exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(APOLOGY, ephemeral=True)
            else:
                await interaction.response.send_message(APOLOGY, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not send the apology for a failed command", exc_info=True)

    # -- mentions and DMs --------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        me = self.user
        if me is None or message.author.bot:
            return
        is_dm = message.guild is None
        mentioned = any(u.id == me.id for u in message.mentions)
        replied = self._replied_answer(message)
        if not is_dm and not mentioned and replied is None:
            return  # @everyone/@here and role mentions are not questions for us
        received = time.perf_counter()
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if not is_dm and not mentioned and not question:
            return  # a reply without a mention: Discord gives no content to read
        try:
            await self._answer_message(message, question, received, replied)
        except Exception:
            log.exception("question failed user=%s", message.author.id)
            try:
                await self._send_reply(message, APOLOGY)
            except discord.HTTPException:
                log.warning("could not send the apology", exc_info=True)

    def _replied_answer(self, message: discord.Message) -> Asked | None:
        """The bot's remembered answer that ``message`` replies to, if any."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        return self.recent.get(ref.message_id)

    async def _answer_message(
        self, message: discord.Message, question: str, received: float,
        replied: Asked | None = None,
    ) -> None:  # fmt: skip
        refusal = self._refusal(message.channel, message.author.id)
        if refusal is not None:
            if not refusal.quiet:
                await self._send_reply(message, refusal.text)
            return
        if wants_help(question):
            await self._send_reply(message, format_help())
            return
        if (chat := small_talk(question)) is not None:
            await self._send_reply(message, chat)
            return
        channel = message.channel
        if replied is not None and replied.conversation is not None:
            key, via = replied.conversation, "reply"
        elif isinstance(channel, discord.Thread):
            key, via = f"thread:{channel.id}", "thread"
        elif message.guild is None:
            key, via = f"dm:{channel.id}", "dm"
        else:
            key, via = f"message:{message.id}", "mention"
        thread = None
        if via == "mention" and self.settings.thread_answers:
            thread = await self._open_thread(message, question)
            if thread is not None:
                key = f"thread:{thread.id}"
        reply = await self.answerer.reply(question, asked_at=message.created_at, conversation=key)
        view = _view_for(reply)
        if thread is not None:
            sent = await self._send(thread, reply.text, view)
        else:
            sent = await self._send_reply(message, reply.text, view)
        self._answered(via, message.author.id, channel, question, reply, sent.id, received, key)

    async def _open_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        """A thread named after the question, started from it; None if Discord refuses."""
        name = " ".join(question.split())
        if len(name) > THREAD_NAME_LIMIT:
            name = name[: THREAD_NAME_LIMIT - 1].rstrip() + "…"
        try:
            return await message.create_thread(name=name)
        except discord.HTTPException as exc:
            log.warning("could not open a thread for message=%s (%s)", message.id, exc)
            return None

    async def _send(
        self, channel: discord.abc.Messageable, text: str, view: discord.ui.View | None
    ) -> discord.Message:
        if view is None:
            return await channel.send(text, allowed_mentions=NO_MENTIONS, suppress_embeds=True)
        return await channel.send(
            text, allowed_mentions=NO_MENTIONS, suppress_embeds=True, view=view
        )

    async def _send_reply(
        self, message: discord.Message, text: str, view: discord.ui.View | None = None
    ) -> discord.Message:
        reference = message.to_reference(fail_if_not_exists=False)
        if view is None:
            return await message.channel.send(
                text, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS,
                suppress_embeds=True,
            )  # fmt: skip
        return await message.channel.send(
            text, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS,
            suppress_embeds=True, view=view,
        )  # fmt: skip

    # -- buttons -----------------------------------------------------------------------

    async def on_answer_button(self, interaction: discord.Interaction, action: str) -> None:
        """ "More" or "Sources" under an answer: answered privately, in place, to the clicker."""
        message = interaction.message
        asked = self.recent.get(message.id) if message is not None else None
        user = interaction.user.id
        if message is None or asked is None or asked.turn is None:
            log.info("button action=%s user=%s: answer expired", action, user)
            await interaction.response.send_message(EXPIRED, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.answerer.follow(asked.turn, "more" if action == "more" else "source?")
        if action == "more" and reply.turn is not None and reply.turn.answer is not None:
            self.recent.update_turn(message.id, reply.turn)  # the next click goes further
        await interaction.followup.send(
            reply.text, ephemeral=True, allowed_mentions=NO_MENTIONS, suppress_embeds=True
        )
        log.info("button action=%s user=%s message=%s", action, user, message.id)

    # -- shared ------------------------------------------------------------------------

    def _refusal(self, channel: object, user_id: int) -> Refusal | None:
        """None to answer the question, else why not."""
        if not channel_allowed(self.settings.allowed_channel_ids, channel):
            return Refusal("I only answer questions in certain channels here.", quiet=True)
        wait, warn = self.cooldown.hit(user_id)
        if wait > 0:
            text = f"One question at a time, please: ask again in {max(1, round(wait))} s."
            return Refusal(text, quiet=not warn)
        return None

    def _answered(
        self,
        via: str,
        user_id: int,
        channel: object,
        question: str,
        reply: Reply,
        message_id: int,
        received: float,
        conversation: str | None = None,
    ) -> None:
        self.recent.add(message_id, question, user_id, reply, conversation)
        a = reply.answer
        turn = reply.turn
        log.info(
            "answered via=%s user=%s channel=%s message=%s latency_ms=%.1f answer_ms=%.1f "
            "confidence=%s abstained=%s sources=%s conversation=%s turn=%s kind=%s",
            via,
            user_id,
            _channel_name(channel),
            message_id,
            (time.perf_counter() - received) * 1000,
            reply.answer_ms,
            f"{a.confidence:.2f}" if a else "-",
            a.abstained if a else "-",
            ",".join(s.doc_id for s in a.sources) if a else "-",
            conversation or "-",
            turn.number if turn else "-",
            turn.kind if turn else "-",
        )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        asked = self.recent.get(payload.message_id)
        if asked is None or (self.user is not None and payload.user_id == self.user.id):
            return
        log.info(
            "feedback emoji=%s user=%s message=%s asker=%s confidence=%s sources=%s question=%r",
            payload.emoji,
            payload.user_id,
            payload.message_id,
            asked.user_id,
            "-" if asked.confidence is None else f"{asked.confidence:.2f}",
            ",".join(asked.doc_ids) or "-",
            asked.question,
        )

    async def on_ready(self) -> None:
        log.info(
            "ready as %s in %d servers, index version %s",
            self.user,
            len(self.guilds),
            self.answerer.version,
        )

    async def on_resumed(self) -> None:
        log.info("gateway session resumed")
