"""What every channel offers the delivery worker: send a reply to a chat now, or say why it could not."""

from __future__ import annotations

from typing import Protocol

from handlers.messages import Reply


class DeliveryError(Exception):
    """A send failed. `retry_after` (seconds) when the channel said when to retry; `permanent` when
    retrying cannot help (the user blocked the bot, the chat does not exist, the message is invalid)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False,
                 migrated_to: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.migrated_to = migrated_to  # the chat moved to this id (a group became a supergroup)


class Deliverer(Protocol):
    """Implemented by each channel (Telegram, Zalo) for messages queued in the outbox."""

    channel: str

    async def deliver(self, chat_id: str, reply: Reply, *, edit_message_id: str | None = None) -> str:
        """Send (or edit) and return the channel's message id; raise DeliveryError on failure."""
        ...
