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


def _ptb_reading(update: dict) -> tuple:
    """What the inbox made of an update through python-telegram-bot's objects: its Incoming and its Spot."""
    from bot.channels.telegram import incoming_from_callback, incoming_from_message, spot_of

    parsed = Update.de_json(lean_update(update), Bot("123:ABC"))
    if parsed.callback_query is not None:
        incoming = incoming_from_callback(parsed.callback_query)
    else:
        assert parsed.message is not None
        incoming = incoming_from_message(parsed.message)
    return incoming, spot_of(parsed)


def test_texts_and_taps_read_from_the_json_as_through_ptb() -> None:
    from bot.channels.telegram import read_plain

    private = {"id": 7, "type": "private", "first_name": "Lan"}
    lan = {"id": 7, "is_bot": False, "first_name": "Lan", "last_name": "Nguyễn", "language_code": "vi"}
    updates = [
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": private, "from": lan, "text": "mật ong"}},
        {"update_id": 2, "message": {"message_id": 2, "date": 1, "chat": private, "text": "/start",
                                     "from": {"id": 7, "is_bot": False, "first_name": "Lan"}}},
        # a channel's post in a group (no sender), and a staff member's message in a forum topic
        {"update_id": 3, "message": {"message_id": 3, "date": 1, "text": "hi",
                                     "chat": {"id": -100, "type": "supergroup", "title": "Desk"}}},
        {"update_id": 4, "message": {"message_id": 4, "date": 1, "chat": TAP["callback_query"]["message"]["chat"],
                                     "from": lan, "text": "/lead 12", "message_thread_id": 9,
                                     "is_topic_message": True}},
        TAP,
        {"update_id": 5, "callback_query": {**TAP["callback_query"],  # a button on a message too old to read
                                            "message": {"chat": private, "message_id": 3, "date": 0}}},
    ]
    for update in updates:
        assert read_plain(copy.deepcopy(update)) == _ptb_reading(update), update
    spot = read_plain(TAP)[1]  # type: ignore[index]
    assert (spot.chat_id, spot.query_id, spot.message_id, spot.is_topic_message, spot.message_thread_id) == (
        -100123, "77", 42, True, 9)


def test_anything_else_is_left_to_ptb() -> None:
    from bot.channels.telegram import read_plain

    chat = {"id": 7, "type": "private"}
    others = [
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": chat, "location": {"latitude": 1.0,
                                                                                         "longitude": 2.0}}},
        {"update_id": 2, "message": {"message_id": 2, "date": 1, "chat": chat, "migrate_to_chat_id": -1007}},
        {"update_id": 3, "inline_query": {"id": "1", "from": {"id": 7, "is_bot": False, "first_name": "A"},
                                          "query": "mật", "offset": ""}},
        {"update_id": 4, "callback_query": {**TAP["callback_query"], "data": None}},  # a game button
        {"update_id": 5, "callback_query": {k: v for k, v in TAP["callback_query"].items() if k != "message"}},
        # not in the shape Telegram sends: PTB's reading decides (and parks what it cannot read)
        {"update_id": 6, "message": {"message_id": 6, "date": 1, "chat": {"id": "7"}, "text": "x"}},
        {"update_id": 7, "message": {"message_id": 7, "date": 1, "chat": chat, "text": "x", "from": {"id": 7}}},
        {"update_id": 8, "callback_query": {**TAP["callback_query"], "from": {"id": True, "first_name": "A"}}},
    ]
    for update in others:
        assert read_plain(update) is None, update
