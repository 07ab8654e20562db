"""The inbox's replies skip python-telegram-bot's request layers (`UnreadAnswers`): the same errors, the same
rate limiter, the same JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import AIORateLimiter, Application, Defaults
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import UnreadAnswers, bot_api_error
from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:UNREAD"

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


class Counting(AIORateLimiter):
    """The rate limiter as shipped, counting what goes through it."""

    def __init__(self) -> None:
        super().__init__(overall_max_rate=0, max_retries=3)
        self.endpoints: list[str] = []

    async def process_request(self, callback: Any, args: Any, kwargs: Any, endpoint: str, data: dict[str, Any],
                              rate_limit_args: Any) -> Any:
        self.endpoints.append(endpoint)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


async def test_replies_go_through_the_rate_limiter_with_the_bots_defaults_and_raise_ptbs_errors() -> None:
    """Sent straight to the fake Bot API (not through PTB's do_api_request): the defaults (HTML, no link
    previews), the keyboard as JSON, the forum topic; every call through the rate limiter, which waits out a 429
    as it does for PTB's own calls; an error answer raises PTB's exception."""
    limiter = Counting()
    async with FakeTelegramAPI(token=TOKEN) as api:
        application = (Application.builder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url)
                       .defaults(Defaults(parse_mode=ParseMode.HTML,
                                          link_preview_options=LinkPreviewOptions(is_disabled=True)))
                       .rate_limiter(limiter).request(AiohttpRequest()).build())
        async with application:
            replies = UnreadAnswers(application.bot)
            keyboard = {"inline_keyboard": [[{"text": "Mỳ Chũ", "callback_data": "p:my-chu"}]]}
            assert await replies.send_message(7, "<b>Mỳ</b> Chũ", reply_markup=keyboard) is None
            api.open_topic(-1007, 9)
            await replies.send_message(-1007, "in the topic", message_thread_id=9)
            sent = api.calls("sendMessage", chat_id=7)[0].params
            assert sent["text"] == "<b>Mỳ</b> Chũ" and sent["parse_mode"] == "HTML"
            assert sent["link_preview_options"] == {"is_disabled": True}
            assert sent["reply_markup"] == keyboard
            assert api.calls("sendMessage", chat_id=-1007)[0].params["message_thread_id"] == 9
            message_id = api.bot_messages(7)[-1]["message_id"]
            await replies.edit_message_text("edited", chat_id=7, message_id=message_id)
            assert api.bot_messages(7)[-1]["text"] == "edited"

            api.fail_next("sendMessage", "429", retry_after=0.05)  # waited out by the rate limiter
            await replies.send_message(7, "after a 429")
            assert api.bot_messages(7)[-1]["text"] == "after a 429"
            assert limiter.endpoints[1:] == ["sendMessage", "sendMessage", "editMessageText", "sendMessage"]  # (getMe)

            with pytest.raises(BadRequest, match="not modified"):
                await replies.edit_message_text("after a 429", chat_id=7, message_id=api.bot_messages(7)[-1]["message_id"])
            api.fail_next("sendMessage", "403")
            with pytest.raises(Forbidden):
                await replies.send_message(7, "blocked")
