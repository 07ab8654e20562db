"""A tap's update is handled from a lean copy: the message its button was on reduced to where it is."""

from __future__ import annotations

import copy

from telegram import Bot, Update

from bot.channels.telegram_inbox import lean_update

TAP = {
    "update_id": 10,
    "callback_query": {
        "id": "77",
        "from": {"id": 5, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
        "chat_instance": "1",
        "data": "p:mat-ong",
        "message": {
            "message_id": 42,
            "date": 1_760_000_000,
            "chat": {"id": -100123, "type": "supergroup", "title": "Desk", "is_forum": True},
            "message_thread_id": 9,
            "is_topic_message": True,
            "from": {"id": 900, "is_bot": True, "first_name": "OCOP"},
            "text": "Mật ong bạc hà <b>Lục Ngạn</b>" * 50,
            "entities": [{"type": "bold", "offset": 0, "length": 7}],
            "reply_markup": {"inline_keyboard": [[{"text": "Where to buy", "callback_data": "w:mat-ong"}]] * 8},
        },
    },
}


def test_a_tap_keeps_what_handling_reads_and_leaves_the_stored_payload_whole() -> None:
    stored = copy.deepcopy(TAP)
    lean = lean_update(stored)
    assert stored == TAP  # the payload kept in the inbox is not changed
    assert set(lean["callback_query"]["message"]) == {"message_id", "date", "chat", "message_thread_id",
                                                      "is_topic_message"}
    bot = Bot("123:ABC")
    full, light = Update.de_json(TAP, bot), Update.de_json(lean, bot)
    for update in (full, light):
        query = update.callback_query
        assert query is not None and query.message is not None
        assert (query.data, query.from_user.id, query.from_user.language_code) == ("p:mat-ong", 5, "vi")
        assert (query.message.chat.id, query.message.message_id) == (-100123, 42)
        assert query.message.is_topic_message and query.message.message_thread_id == 9  # type: ignore[union-attr]
        assert update.effective_chat is not None and update.effective_chat.id == -100123
    assert light.callback_query.message.text is None  # type: ignore[union-attr]


def test_an_inaccessible_message_and_other_updates_pass_as_they_are() -> None:
    old = copy.deepcopy(TAP)
    old["callback_query"]["message"] = {"chat": {"id": 7, "type": "private"}, "message_id": 3, "date": 0}
    assert lean_update(old) == old
    text = {"update_id": 11, "message": {"message_id": 1, "date": 1, "chat": {"id": 7, "type": "private"},
                                         "text": "mật ong"}}
    assert lean_update(text) is text
