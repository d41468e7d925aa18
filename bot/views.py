"""The buttons under an answer: "More" (the next best sentences of the story) and
"Sources" (its links), answered privately to whoever clicks.

They are dynamic items (``discord.ui.DynamicItem``): their custom ids are fixed strings
("newsqa:answer:more"), registered once with the client, so a click is routed to the bot
even on an answer sent before a restart; the bot then finds the answer by the clicked
message's id, or says plainly that the answer has expired.
"""

from __future__ import annotations

import re
from typing import Any

import discord

ACTIONS = {"more": "More", "sources": "Sources"}
EVENT = "answer_button"  # the client's on_answer_button(interaction, action) handles clicks


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"newsqa:answer:(?P<action>more|sources)",
):
    """One of the answer's buttons; the click goes to the client as an event."""

    def __init__(self, action: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=ACTIONS[action],
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsqa:answer:{action}",
            )
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AnswerButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        interaction.client.dispatch(EVENT, interaction, self.action)


def answer_view(*, more: bool, sources: bool) -> discord.ui.View | None:
    """The buttons for an answer (None when neither applies). Never times out."""
    if not (more or sources):
        return None
    view = discord.ui.View(timeout=None)
    if more:
        view.add_item(AnswerButton("more"))
    if sources:
        view.add_item(AnswerButton("sources"))
    return view
