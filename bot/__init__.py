"""newsqa's Discord bot: the same answers as ``python -m retrieval ask``, in a channel."""

from .answering import Answerer, Cooldown, Reply, reply
from .client import NewsBot
from .settings import BotSettings, load_bot_settings

__all__ = [
    "Answerer",
    "BotSettings",
    "Cooldown",
    "NewsBot",
    "Reply",
    "load_bot_settings",
    "reply",
]
