"""A small Discord API emulator on 127.0.0.1 that discord.py's real client can run against.

It serves the REST routes a bot uses (login, application info, command sync, messages,
threads started from a message, interaction callbacks and webhooks follow-ups) and a
gateway websocket (HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME -> replay +
RESUMED, THREAD_CREATE). Every REST request is recorded for assertions, and tests drive
it: inject messages (replies to a message, in a thread), slash commands, button clicks and
reactions, open threads, answer the next requests with 429s, drop the gateway connection.

Point a client at it with ``discord.http.Route.BASE = emulator.api_base`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)``
(``python -m bot`` does the same from DISCORD_API_BASE / DISCORD_GATEWAY_URL).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
MANAGE_GUILD = 1 << 5
SEND_AND_READ = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 6)  # view, send, history, react

Json = dict[str, Any]
Handler = Callable[[web.Request, re.Match[str], Any], Awaitable[web.Response]]


@dataclass(frozen=True)
class Recorded:
    """One REST request as the emulator received it."""

    method: str
    path: str  # below the API base, e.g. "/channels/1/messages"
    query: dict[str, str]
    json: Any
    time: float  # time.monotonic() on arrival
    status: int
    response: Any = None  # the JSON body answered, e.g. the created message


@dataclass
class _Session:
    session_id: str
    seq: int = 0
    history: list[Json] = field(default_factory=list)  # dispatched frames, for RESUME


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py only parses bodies whose Content-Type is exactly "application/json".
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class DiscordEmulator:
    """Fake Discord: one guild with one text channel, one bot user, any number of humans."""

    def __init__(self, *, heartbeat_interval_ms: int = 41250) -> None:
        self._ids = itertools.count(1)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.bot_user = self.user("newsqa", bot=True)
        self.application_id = self.bot_user["id"]
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.admin_role_id = self.snowflake()
        self.requests: list[Recorded] = []
        self.messages: dict[str, Json] = {}  # sent by the bot, by id
        self.threads: dict[str, Json] = {}  # thread channels, by id
        self.commands: dict[str | None, list[Json]] = {}  # guild id (None: global) -> commands
        self.identifies: list[Json] = []
        self.resumes: list[Json] = []
        self._rate_limits: list[tuple[Callable[[str, str], bool], float]] = []
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None
        self._ws: web.WebSocketResponse | None = None
        self._ws_request: web.Request | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/users/@me"), self._get_me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._get_app),
            ("GET", re.compile(r"/gateway(/bot)?"), self._get_gateway),
            ("PUT", re.compile(r"/applications/\d+/commands"), self._put_commands),
            ("PUT", re.compile(r"/applications/\d+/guilds/(\d+)/commands"), self._put_commands),
            ("GET", re.compile(r"/applications/\d+/(guilds/(\d+)/)?commands"), self._get_commands),
            ("POST", re.compile(r"/channels/(\d+)/messages"), self._post_message),
            ("POST", re.compile(r"/channels/(\d+)/messages/(\d+)/threads"), self._start_thread),
            ("POST", re.compile(r"/channels/\d+/typing"), self._no_content),
            ("PUT", re.compile(r"/channels/\d+/messages/\d+/reactions/.+"), self._no_content),
            ("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback),
            ("POST", re.compile(r"/webhooks/\d+/([^/]+)"), self._post_followup),
            ("PATCH", re.compile(r"/webhooks/\d+/([^/]+)/messages/@original"), self._edit_original),
        ]

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> DiscordEmulator:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> DiscordEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- payload builders --------------------------------------------------------------

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._ids) & 0x3FFFFF))

    def user(self, name: str, *, bot: bool = False) -> Json:
        return {
            "id": self.snowflake(),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": bot,
        }

    def member(self, user: Json, *, roles: list[str] | None = None, permissions: int = 0) -> Json:
        return {
            "user": user,
            "roles": roles or [],
            "joined_at": _now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }

    def _guild(self) -> Json:
        everyone: Json = {
            "id": self.guild_id,
            "name": "@everyone",
            "permissions": str(SEND_AND_READ),
        }
        admin: Json = {"id": self.admin_role_id, "name": "newsqa-admin", "permissions": "0"}
        for role in (everyone, admin):
            role.update(position=0, color=0, hoist=False, managed=False, mentionable=False)
        return {
            "id": self.guild_id,
            "name": "Emulated guild",
            "owner_id": self.snowflake(),
            "unavailable": False,
            "large": False,
            "member_count": 1,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [everyone, admin],
            "channels": [self._channel()],
            "threads": [],
            "members": [self.member(self.bot_user)],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _channel(self) -> Json:
        return {
            "id": self.channel_id,
            "guild_id": self.guild_id,
            "type": 0,
            "name": "news",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
        }

    def _message(self, channel_id: str, author: Json, content: str, **extra: Any) -> Json:
        msg: Json = {
            "id": self.snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "type": 0,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "flags": 0,
        }
        msg.update(extra)
        return msg

    # -- test-side controls ------------------------------------------------------------

    async def inject_message(
        self,
        content: str,
        *,
        author: Json,
        mentions: Sequence[Json] = (),
        dm: bool = False,
        roles: list[str] | None = None,
        dm_channel: str | None = None,
        channel_id: str | None = None,
        reply_to: Json | None = None,
    ) -> Json:
        """Send MESSAGE_CREATE from ``author`` in the guild channel (or a DM: a new DM
        channel, or ``dm_channel``; or the thread ``channel_id``); returns it. With
        ``reply_to``, the message is a reply to that message (type 19, with a reference)."""
        if dm:
            msg = self._message(dm_channel or self.snowflake(), author, content)
        else:
            msg = self._message(
                channel_id or self.channel_id,
                author,
                content,
                guild_id=self.guild_id,
                member=self.member(author, roles=roles),
                mention_everyone="@everyone" in content or "@here" in content,
            )
        msg["mentions"] = [dict(u, member=self.member(u)) for u in mentions]
        if reply_to is not None:
            ref: Json = {"message_id": reply_to["id"], "channel_id": reply_to["channel_id"]}
            if not dm:
                ref["guild_id"] = self.guild_id
            msg.update(type=19, message_reference=ref, referenced_message=reply_to)
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    def _thread(self, name: str, owner_id: str, thread_id: str | None = None) -> Json:
        return {
            "id": thread_id or self.snowflake(),
            "guild_id": self.guild_id,
            "parent_id": self.channel_id,
            "owner_id": owner_id,
            "type": 11,  # a public thread
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _now_iso(),
                "locked": False,
            },
        }

    async def open_thread(self, name: str, *, owner: Json) -> Json:
        """A public thread in the guild channel, opened by ``owner`` (THREAD_CREATE)."""
        thread = self._thread(name, owner["id"])
        self.threads[thread["id"]] = thread
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return thread

    async def inject_button(self, message: Json, custom_id: str, *, user: Json) -> Json:
        """Send INTERACTION_CREATE for a click on the button ``custom_id`` of ``message``."""
        interaction: Json = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": 3,  # a message component
            "token": f"itoken-{self.snowflake()}",
            "version": 1,
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": message,
            "locale": "en-US",
            "app_permissions": str(SEND_AND_READ),
            "attachment_size_limit": 8 * 1024 * 1024,
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
        }
        channel_id = message["channel_id"]
        if "guild_id" in message:
            channel = self.threads.get(channel_id) or self._channel()
            interaction.update(
                guild_id=self.guild_id, guild_locale="en-US", channel=channel,
                member=self.member(user), context=0,
            )  # fmt: skip
        else:
            interaction.update(user=user, channel={"id": channel_id, "type": 1}, context=1)
        interaction["channel_id"] = channel_id
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    def callbacks(self, interaction: Json) -> list[Recorded]:
        """Successful initial responses to ``interaction``."""
        return [
            r for r in self.requests
            if r.status == 200 and r.path.startswith(f"/interactions/{interaction['id']}/")
        ]  # fmt: skip

    async def inject_slash(
        self,
        name: str,
        options: dict[str, str] | None = None,
        *,
        user: Json,
        permissions: int = SEND_AND_READ,
        roles: list[str] | None = None,
        dm: bool = False,
        thread: Json | None = None,
    ) -> Json:
        """Send INTERACTION_CREATE for ``/name option:value`` as the Discord client would
        (in the guild channel, a DM, or ``thread``)."""
        command = self._find_command(name)
        data: Json = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()],
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        interaction: Json = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": 2,
            "token": f"itoken-{self.snowflake()}",
            "version": 1,
            "data": data,
            "locale": "en-US",
            "app_permissions": str(SEND_AND_READ),
            "attachment_size_limit": 8 * 1024 * 1024,
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
        }
        if dm:
            interaction.update(user=user, channel={"id": self.snowflake(), "type": 1}, context=1)
        else:
            interaction.update(
                guild_id=self.guild_id,
                guild_locale="en-US",
                channel_id=self.channel_id,
                channel=thread or self._channel(),
                member=self.member(user, roles=roles, permissions=permissions),
                context=0,
            )
        interaction["channel_id"] = interaction["channel"]["id"]
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def inject_reaction(self, message_id: str, emoji: str, *, user: Json) -> None:
        """Send MESSAGE_REACTION_ADD for a unicode ``emoji`` on ``message_id``."""
        msg = self.messages.get(message_id, {})
        await self.dispatch(
            "MESSAGE_REACTION_ADD",
            {
                "user_id": user["id"],
                "channel_id": msg.get("channel_id", self.channel_id),
                "message_id": message_id,
                "guild_id": self.guild_id,
                "member": self.member(user),
                "emoji": {"id": None, "name": emoji},
                "message_author_id": self.bot_user["id"],
                "burst": False,
                "type": 0,
            },
        )

    def rate_limit_next(
        self, n: int, *, method: str = "POST", path: str = r".*", retry_after: float = 0.25
    ) -> None:
        """Answer the next ``n`` requests matching ``method`` and ``path`` (a regex) with 429."""
        pattern = re.compile(path)
        for _ in range(n):
            self._rate_limits.append(
                (lambda m, p: m == method and bool(pattern.fullmatch(p)), retry_after)
            )

    async def drop_connection(self, code: int | None = None) -> None:
        """Cut the gateway connection: abruptly (no close frame) or with a close ``code``."""
        ws, request = self._ws, self._ws_request
        assert ws is not None and request is not None, "no gateway connection"
        self._ws = None
        if code is None:
            assert request.transport is not None
            request.transport.abort()
        else:
            await ws.close(code=code)

    async def dispatch(self, event: str, data: Json) -> None:
        """Send a DISPATCH frame; kept for replay if the client is disconnected right now."""
        session = self._session
        assert session is not None, "the client never identified"
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(json.dumps(frame))

    async def wait_for(
        self, predicate: Callable[[Recorded], bool], *, timeout: float = 10.0, count: int = 1
    ) -> list[Recorded]:
        """Wait until ``count`` recorded requests satisfy ``predicate``; return them."""

        def matches() -> list[Recorded]:
            return [r for r in self.requests if predicate(r)]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(matches()) >= count), timeout)
        return matches()

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds (checked whenever the emulator sees traffic)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    def replies_to(self, message_id: str, *, failed_too: bool = False) -> list[Recorded]:
        """Channel messages that reference ``message_id`` (successful ones unless failed_too)."""
        return [
            r
            for r in self.requests
            if (failed_too or r.status == 200)
            and r.method == "POST"
            and r.path.endswith("/messages")
            and isinstance(r.json, dict)
            and str(r.json.get("message_reference", {}).get("message_id")) == message_id
        ]

    def followups(self, interaction: Json) -> list[Recorded]:
        """Successful follow-ups (or edits of the original) for ``interaction``."""
        token = interaction["token"]
        return [
            r
            for r in self.requests
            if r.status == 200 and f"/{token}" in r.path and r.path.startswith("/webhooks/")
        ]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- REST --------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif raw:
                body = {"_raw": raw.decode("utf-8", "replace")}
        arrived = time.monotonic()
        response = self._limited(request.method, path)
        if response is None:
            response = _json({"message": "404: Not Found", "code": 0}, status=404)
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    response = await handler(request, match, body)
                    break
        answered = None
        if response.content_type == "application/json" and isinstance(response.body, bytes):
            answered = json.loads(response.body)
        self.requests.append(
            Recorded(
                request.method, path, dict(request.query), body, arrived, response.status, answered
            )
        )
        await self._notify()
        return response

    def _limited(self, method: str, path: str) -> web.Response | None:
        for i, (matches, retry_after) in enumerate(self._rate_limits):
            if matches(method, path):
                del self._rate_limits[i]
                # Without "Via" discord.py takes a 429 for a Cloudflare ban and gives up.
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": False,
                    },
                    status=429,
                    headers={"Via": "1.1 google", "X-RateLimit-Scope": "user"},
                )
        return None

    async def _get_me(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        return _json(self.bot_user)

    async def _get_app(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        owner = self.user("owner")
        return _json(
            {
                "id": self.application_id,
                "name": "newsqa",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": owner,
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
            }
        )

    async def _get_gateway(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _put_commands(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        guild_id = match.group(1) if match.groups() else None
        commands = [
            dict(
                c,
                id=self.snowflake(),
                application_id=self.application_id,
                version=self.snowflake(),
                type=c.get("type", 1),
                guild_id=guild_id,
            )
            for c in body or []
        ]
        self.commands[guild_id] = commands
        return _json(commands)

    async def _get_commands(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        return _json(self.commands.get(match.group(2), []))

    def _find_command(self, name: str) -> Json:
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise LookupError(f"/{name} was never synced; synced: {self.commands}")

    async def _post_message(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        body = body or {}
        channel_id = match.group(1)
        extra: Json = {}
        if channel_id == self.channel_id or channel_id in self.threads:
            extra["guild_id"] = self.guild_id
        if "message_reference" in body:
            extra.update(type=19, message_reference=body["message_reference"])
        msg = self._message(channel_id, self.bot_user, body.get("content", ""), **extra)
        msg["embeds"] = body.get("embeds", [])
        msg["flags"] = body.get("flags", 0)
        msg["components"] = body.get("components", [])
        self.messages[msg["id"]] = msg
        return _json(msg)

    async def _start_thread(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        # A thread started from a message takes that message's id as its own.
        body = body or {}
        thread = self._thread(str(body.get("name", "")), self.bot_user["id"], match.group(2))
        self.threads[thread["id"]] = thread
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return _json(thread)

    async def _no_content(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        return web.Response(status=204)

    async def _callback(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        interaction_id = match.group(1)
        kind = (body or {}).get("type")
        data = (body or {}).get("data") or {}
        resource: Json = {"type": kind}
        if kind == 4:  # an immediate message
            msg = self._message(self.channel_id, self.bot_user, data.get("content", ""))
            msg["flags"] = data.get("flags", 0)
            self.messages[msg["id"]] = msg
            resource["message"] = msg
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                },
                "resource": resource,
            }
        )

    async def _post_followup(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        body = body or {}
        msg = self._message(
            self.channel_id, self.bot_user, body.get("content", ""), webhook_id=self.application_id
        )
        msg["flags"] = body.get("flags", 0)
        msg["components"] = body.get("components", [])
        self.messages[msg["id"]] = msg
        return _json(msg)

    async def _edit_original(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        return await self._post_followup(request, match, body)

    # -- gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if self._ws is not None and not self._ws.closed:
            await self._ws.close(code=4000)
        self._ws, self._ws_request = ws, request
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_json({"op": 11})
            elif op == 2:
                await self._identify(ws, data)
            elif op == 6:
                await self._resume(ws, data)
            await self._notify()
        await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> None:
        self.identifies.append(data)
        session = _Session(session_id=f"session-{self.snowflake()}")
        self._sessions[session.session_id] = session
        self._session = session
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": self.guild_id, "unavailable": True}],
                "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": self.application_id, "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
        )
        await self.dispatch("GUILD_CREATE", self._guild())

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> None:
        self.resumes.append(data)
        session = self._sessions.get(data.get("session_id", ""))
        if session is None:
            await ws.send_json({"op": 9, "d": False})  # invalid session, not resumable
            return
        self._session = session
        # Replay what the client missed, then confirm.
        for frame in session.history:
            if frame["s"] > (data.get("seq") or 0):
                await ws.send_str(json.dumps(frame))
        await self.dispatch("RESUMED", {})


# -- running `python -m bot` against the emulator ----------------------------------------


class BotProcess:
    """``python -m bot`` in a subprocess, its log lines collected for assertions."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.env, self.cwd = env, cwd
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self, *args: str) -> BotProcess:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for raw in self._proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def find(self, pattern: str) -> list[re.Match[str]]:
        regex = re.compile(pattern)
        return [m for line in self.lines if (m := regex.search(line))]

    async def wait_log(
        self, pattern: str, *, timeout: float = 10.0, count: int = 1
    ) -> list[re.Match[str]]:
        """Wait for ``count`` log lines matching ``pattern``; fail early if the bot exits."""

        def ready() -> bool:
            exited = self._reader is not None and self._reader.done()
            return exited or len(self.find(pattern)) >= count

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            raise AssertionError(f"no log {pattern!r} in time; log:\n" + self.log) from None
        found = self.find(pattern)
        if len(found) < count:
            raise AssertionError(f"bot exited before logging {pattern!r}; log:\n" + self.log)
        return found

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then the exit code (the bot closes its connection and exits 0)."""
        assert self._proc is not None
        if self._proc.returncode is None:
            self._proc.terminate()
        try:
            code = await asyncio.wait_for(self._proc.wait(), timeout)
        except TimeoutError:
            self._proc.kill()
            code = await self._proc.wait()
        if self._reader is not None:
            await self._reader
        return code
