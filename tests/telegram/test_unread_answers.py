"""The inbox's replies skip python-telegram-bot's request layers (`UnreadAnswers`): the same errors, the same
rate limiter, the same JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram.error import TelegramError
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import bot_api_error

ANSWERS = [
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
           "parameters": {"migrate_to_chat_id": -100123}}),
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
           "parameters": {"retry_after": 3}}),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}),
    (409, {"ok": False, "error_code": 409, "description": "Conflict: terminated by other getUpdates request"}),
    (502, {"ok": False}),
    (500, {"ok": False, "description": "Internal Server Error", "parameters": {"something": 1}}),
    (503, b"<html>down</html>"),
    (599, b""),
]


class Answering(BaseRequest):
    """A request that answers with a given status and body, to see what PTB makes of it."""

    def __init__(self, code: int, payload: bytes) -> None:
        self.answer = (code, payload)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        return self.answer


@pytest.mark.parametrize(("code", "answer"), ANSWERS)
async def test_an_error_answer_raises_what_ptb_raises(code: int, answer: Any) -> None:
    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    with pytest.raises(TelegramError) as raised:
        await Answering(code, payload).post("http://bot.invalid/sendMessage")
    ours = bot_api_error(code, payload)
    assert type(ours) is type(raised.value)
    assert str(ours) == str(raised.value)
    assert getattr(ours, "new_chat_id", None) == getattr(raised.value, "new_chat_id", None)
    assert getattr(ours, "_retry_after", None) == getattr(raised.value, "_retry_after", None)
