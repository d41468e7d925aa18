"""newsqa's Discord bot: the same answers as ``python -m retrieval ask``, in a channel."""

from .answering import Answerer, Cooldown, Reply, answer_question
from .client import NewsBot
from .settings import BotSettings, load_bot_settings

__all__ = [
    "Answerer",
    "BotSettings",
    "Cooldown",
    "NewsBot",
    "Reply",
    "answer_question",
    "load_bot_settings",
]
