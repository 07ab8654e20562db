"""Zalo rendering and event parsing without a network: text splitting, buttons, events → Incoming."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.zalo import (
    MAX_BUTTONS,
    MAX_TEXT,
    PAYLOAD_PREFIX,
    event_key,
    event_signature,
    event_to_incoming,
    render_reply,
    signature_valid,
    split_text,
)
from handlers.messages import Button, Location, Reply, SharedContact, Venue, h
from tests.fakes.zalo_api import FakeZaloAPI, sign


def test_signature_matches_the_documented_formula() -> None:
    body = b'{"app_id":"1","event_name":"user_send_text","timestamp":"1700000000000"}'
    expected = sign("1", body, "1700000000000", "secret")
    assert event_signature("1", body, "1700000000000", "secret") == expected
    assert expected.startswith("mac=") and len(expected) == 4 + 64
    assert signature_valid(expected, "1", body, "1700000000000", "secret")
    assert not signature_valid(expected, "1", body + b" ", "1700000000000", "secret")
    assert not signature_valid(expected, "1", body, "1700000000001", "secret")
    assert not signature_valid(None, "1", body, "1700000000000", "secret")
    assert not signature_valid(expected, "1", body, "1700000000000", "")


def test_split_text_keeps_short_text_whole() -> None:
    assert split_text("  Xin chào  ") == ["Xin chào"]
    assert split_text("") == []


def test_split_text_cuts_on_line_ends_within_the_limit() -> None:
    lines = [f"{i:03d}. Mỳ Chũ Bắc Giang — đặc sản OCOP 4 sao" for i in range(200)]
    text = "\n".join(lines)
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n".join(chunks) == text  # nothing lost, no line cut in two
    assert all(c.split("\n")[0] in lines for c in chunks)


def test_split_text_normalises_to_nfc_before_counting() -> None:
    decomposed = unicodedata.normalize("NFD", "Mỳ Chũ ") * 300  # 2,100 NFC characters, far more in NFD
    chunks = split_text(decomposed)
    assert all(unicodedata.is_normalized("NFC", c) and len(c) <= MAX_TEXT for c in chunks)
    assert "".join(chunks).replace(" ", "") == unicodedata.normalize("NFC", decomposed).replace(" ", "")


@given(st.text(alphabet=st.sampled_from("ab cdđêệ\n😀"), max_size=6000))
def test_split_text_never_exceeds_the_limit_and_keeps_every_word(text: str) -> None:
    chunks = split_text(text, 50)
    assert all(0 < len(c.encode("utf-16-le")) // 2 <= 50 for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(unicodedata.normalize("NFC", text).split())


def test_buttons_become_query_hide_with_our_prefix_and_urls_open_url() -> None:
    reply = Reply(
        text="<b>Mỳ Chũ</b> &amp; bánh đa",
        buttons=[[Button("Mỳ Chũ Xuân Phong", "p:my-chu"), Button("Web", url="https://ocop.example", kind="url")],
                 [Button("Nơi bán", "where:my-chu")]],
    )
    [message] = render_reply(reply)
    assert message["text"] == "Mỳ Chũ & bánh đa"
    buttons = message["attachment"]["payload"]["buttons"]
    assert buttons == [
        {"title": "Mỳ Chũ Xuân Phong", "type": "oa.query.hide", "payload": PAYLOAD_PREFIX + "p:my-chu"},
        {"title": "Web", "type": "oa.open.url", "payload": {"url": "https://ocop.example"}},
        {"title": "Nơi bán", "type": "oa.query.hide", "payload": PAYLOAD_PREFIX + "where:my-chu"},
    ]


def test_long_titles_are_cut_and_many_buttons_spread_over_messages() -> None:
    buttons = [[Button("x" * 150, f"p:{i}")] for i in range(MAX_BUTTONS * 2 + 1)]
    messages = render_reply(Reply(text="Chọn:", buttons=buttons))
    assert [len(m["attachment"]["payload"]["buttons"]) for m in messages] == [MAX_BUTTONS, MAX_BUTTONS, 1]
    assert messages[0]["text"] == "Chọn:" and all(m["text"] for m in messages)
    assert all(len(b["title"]) <= 100 for m in messages for b in m["attachment"]["payload"]["buttons"])


def test_buttons_ride_on_the_last_chunk_of_a_long_text() -> None:
    text = "\n".join("dòng " + "a" * 90 for _ in range(60))
    messages = render_reply(Reply(text=text, buttons=[[Button("Tiếp", "more:2")]]))
    assert len(messages) >= 3
    assert all("attachment" not in m for m in messages[:-1])
    assert messages[-1]["attachment"]["payload"]["buttons"][0]["payload"] == "#p more:2"


def test_venue_becomes_text_with_a_map_link_and_contact_request_a_user_info_template() -> None:
    reply = Reply(text="Cửa hàng gần bạn:", venue=Venue(21.27, 106.19, "Điểm OCOP", "Bắc Giang"),
                  keyboard=[[Button("Gửi vị trí", kind="location"), Button("Chia sẻ số điện thoại", kind="contact")]])
    text_message, info = render_reply(reply)
    assert "Điểm OCOP\nBắc Giang\nhttps://www.google.com/maps/search/?api=1&query=21.27,106.19" in text_message["text"]
    assert "attachment" not in text_message  # no Zalo button for a location request
    assert info["attachment"]["payload"]["template_type"] == "request_user_info"
    assert info["attachment"]["payload"]["elements"][0]["title"] == "Chia sẻ số điện thoại"


def test_a_reply_with_only_a_notice_is_still_said() -> None:
    assert render_reply(Reply(notice="Đã nhận")) == [{"text": "Đã nhận"}]
    assert render_reply(Reply(text=h("<script>"))) == [{"text": "<script>"}]


def _event(name: str, **fields: object) -> dict[str, object]:
    return FakeZaloAPI().event(name, "2468", **fields)


def test_events_become_incoming() -> None:
    text = event_to_incoming(_event("user_send_text", message={"text": "mỳ chũ", "msg_id": "m1"}))
    assert text is not None and (text.channel, text.chat_id, text.user_id, text.text) == ("zalo", "2468", "2468", "mỳ chũ")
    tap = event_to_incoming(_event("user_send_text", message={"text": "#p p:my-chu", "msg_id": "m2"}))
    assert tap is not None and tap.payload == "p:my-chu" and tap.text is None
    follow = event_to_incoming(_event("follow"))
    assert follow is not None and follow.text == "/start" and follow.user_id == "2468"
    coords = {"latitude": "21.2731", "longitude": "106.1946"}
    loc = event_to_incoming(_event("user_send_location", message={
        "msg_id": "m3", "text": "", "attachments": [{"type": "location", "payload": {"coordinates": coords}}]}))
    assert loc is not None and loc.location == Location(21.2731, 106.1946)
    info = event_to_incoming(_event("user_submit_info", info={"name": "Chị Lan", "phone": "84912345678"}))
    assert info is not None and info.contact == SharedContact("84912345678", "Chị Lan", "2468")


def test_events_we_do_not_act_on_give_nothing() -> None:
    assert event_to_incoming(_event("unfollow")) is None
    assert event_to_incoming(_event("user_send_sticker", message={"msg_id": "s"})) is None
    assert event_to_incoming(_event("user_seen_message", message={"msg_ids": ["1"]})) is None
    assert event_to_incoming(_event("user_send_text", message={"text": "   ", "msg_id": "e"})) is None
    bad = {"type": "location", "payload": {"coordinates": {"latitude": "north", "longitude": "1"}}}
    assert event_to_incoming(_event("user_send_location", message={"msg_id": "l", "attachments": [bad]})) is None
    assert event_to_incoming({"event_name": "user_send_text", "message": {"text": "hi"}}) is None  # no sender
    assert event_to_incoming(json.loads('{"event_name":"user_submit_info","sender":{"id":"1"},"info":{}}')) is None


def test_event_key_uses_msg_id_or_name_user_and_time() -> None:
    assert event_key(_event("user_send_text", message={"text": "a", "msg_id": "96d3cdf3af150460909"})) == "96d3cdf3af150460909"
    follow = _event("follow")
    assert event_key(follow) == f"follow:2468:{follow['timestamp']}"
