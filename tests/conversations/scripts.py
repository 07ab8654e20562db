"""Conversation scripts as data, in Vietnamese and English, run through the channel-neutral core.

Each script: a name, the user's language hint (as Telegram's `language_code` would give it) and steps.
A step does one thing — `send` text, `click` a payload, share a `location` [lat, lon], or `restart` the
process — and states what the replies must hold:
  expect_contains   substrings of the plain reply text (all must appear)
  expect_not        substrings that must not appear
  expect_payloads   button payloads that must be offered
  expect_prefixes   payload prefixes at least one button must have
  expect_edit       the reply replaces the tapped message (page turns)
  expect_keyboard   "location": a reply-keyboard button that requests the location
  expect_venue      whether a map point (Venue) is sent
  expect_pick       the reply is the card of the n-th item of the last numbered list shown
Every step is also checked for valid reply markup, payload sizes and the absence of the generic error.
"""

from __future__ import annotations

from typing import Any

Script = dict[str, Any]

HONG_XUAN = "vai-thieu-hong-xuan"

SCRIPTS: list[Script] = [
    # ---------------------------------------------------------------- Vietnamese
    {
        "name": "vi_search_card_list_followup",
        "language_hint": "vi",
        "steps": [
            {"send": "/start", "expect_contains": ["Xin chào", "OCOP Bot", "bản demo"],
             "expect_payloads": ["m:find", "m:where", "m:contacts", "b:menu", "enq:start", "lang:menu"]},
            {"send": "vải thiều Hồng Xuân",
             "expect_contains": ["Vải thiều Hồng Xuân Lục Ngạn", "Luc Ngan lychee (Hong Xuan)",
                                 "★★★★★ 5 sao OCOP (2024)", "Nhóm sản phẩm: Thực phẩm",
                                 "HTX Nông nghiệp sản xuất và Kinh doanh dịch vụ tổng hợp Hồng Xuân",
                                 "xã Hồng Giang, Lục Ngạn (cũ), Bắc Giang",
                                 "chưa có số điện thoại hay e-mail công bố", "Postmart"],
             "expect_payloads": [f"where:{HONG_XUAN}", f"contact:{HONG_XUAN}", f"enq:start:{HONG_XUAN}",
                                 f"more:{HONG_XUAN}"]},
            {"send": "mat ong", "expect_contains": ["Mật ong Yên Mỹ", "Mật ong Tân Hưng", "Mình tìm thấy"],
             "expect_prefixes": ["p:"]},
            {"send": "số 2", "expect_pick": 2},
            {"send": "mat ong", "expect_contains": ["Mật ong Yên Mỹ"]},
            {"send": "cái thứ 3", "expect_pick": 3},
            {"click": f"more:{HONG_XUAN}", "expect_contains": ["Sản phẩm tương tự", "Vải thiều hữu cơ Kiên Thành"],
             "expect_not": ["1. Vải thiều Hồng Xuân Lục Ngạn"]},
            {"send": "#1", "expect_pick": 1},
            {"send": "9", "expect_contains": ["chỉ có"]},
        ],
    },
    {
        "name": "vi_no_match_and_suggestions",
        "language_hint": "vi",
        "steps": [
            {"send": "nước mắm phú quốc",
             "expect_contains": ["Mình chưa tìm thấy “nước mắm phú quốc”", "bản demo", "chưa có trong đó"],
             "expect_payloads": ["b:menu", "m:start"]},
            {"send": "mỳ chũ cay", "expect_contains": ["Có phải bạn muốn tìm", "Mỳ gạo"], "expect_prefixes": ["p:"]},
            {"send": "số 1", "expect_pick": 1},
        ],
    },
    {
        "name": "vi_where_to_buy_and_nearest",
        "language_hint": "vi",
        "steps": [
            {"send": "mua mỳ chũ ở đâu",
             "expect_contains": ["Nơi mua “mỳ chũ”", "số 108 đường Đào Sư Tích, TP Bắc Giang", "chưa có địa chỉ",
                                 "Postmart", "Mỳ gạo Chũ Xuân Trường"],
             "expect_prefixes": ["where:"], "expect_keyboard": "location"},
            {"send": "số 2", "expect_pick": 2},
            {"click": "where:oi-quyen-phong",
             "expect_contains": ["Nơi mua Ổi Quyền Phong", "Cửa hàng báo có bán sản phẩm này",
                                 "Cửa hàng nông sản tiêu biểu huyện Việt Yên", "Các cửa hàng OCOP khác"],
             "expect_payloads": ["contact:oi-quyen-phong", "enq:start:oi-quyen-phong", "p:oi-quyen-phong"],
             "expect_keyboard": "location"},
            {"location": [21.273, 106.194],
             "expect_contains": ["Cửa hàng OCOP gần bạn nhất", "1. Gian trưng bày OCOP", "ước tính",
                                 "google.com/maps/search", "có bán sản phẩm bạn vừa xem",
                                 "Cửa hàng chưa có thông tin vị trí"],
             "expect_venue": False},
            {"send": "cửa hàng OCOP ở Lục Ngạn",
             "expect_contains": ["Cửa hàng và điểm bán sản phẩm OCOP", "Cửa hàng OCOP huyện Hiệp Hòa"],
             "expect_keyboard": "location"},
            {"send": "cửa hàng gần nhất", "expect_contains": ["Gửi vị trí"], "expect_keyboard": "location"},
            {"click": "m:where", "expect_contains": ["Cửa hàng và điểm bán sản phẩm OCOP"]},
            {"send": "vải thiều Hồng Xuân", "expect_contains": ["Nơi mua Vải thiều Hồng Xuân Lục Ngạn"]},
        ],
    },
    {
        "name": "vi_contact_nothing_listed",
        "language_hint": "vi",
        "steps": [
            {"click": f"contact:{HONG_XUAN}",
             "expect_contains": ["Liên hệ về Vải thiều Hồng Xuân Lục Ngạn",
                                 "HTX Nông nghiệp sản xuất và Kinh doanh dịch vụ tổng hợp Hồng Xuân",
                                 "Chưa có số điện thoại hay e-mail công bố cho nhà sản xuất này",
                                 "Chi cục Kinh tế hợp tác và Phát triển nông thôn tỉnh Bắc Ninh"],
             "expect_not": ["0204", "Điện thoại:"],
             "expect_payloads": [f"where:{HONG_XUAN}", f"enq:start:{HONG_XUAN}"]},
            {"send": "HTX nào làm gà đồi Yên Thế", "expect_contains": ["HTX Nông nghiệp Xanh Yên Thế"]},
            {"send": "liên hệ bánh chưng Vân", "expect_contains": ["Nguồn tin chưa nêu tên nhà sản xuất"]},
            {"send": "liên hệ", "expect_contains": ["Liên hệ xúc tiến thương mại và OCOP",
                                                    "ttkhuyencong.bacgiang.gov.vn", "(trước khi hợp nhất tháng 7/2025)"]},
            {"click": "m:contacts", "expect_contains": ["Sở Nông nghiệp và Môi trường tỉnh Bắc Ninh"]},
            {"send": "mỳ gạo chũ xuân trường", "expect_contains": ["Liên hệ về Mỳ gạo Chũ Xuân Trường"]},
        ],
    },
    {
        "name": "vi_browse_and_paginate",
        "language_hint": "vi",
        "steps": [
            {"click": "b:menu", "expect_contains": ["Duyệt danh mục", "88 sản phẩm"],
             "expect_payloads": ["b:c:food:0", "b:s:4:0", "b:s:0:0", "b:d:luc-ngan:0", "b:d:tp-bac-giang:0"]},
            {"click": "b:c:food:0", "expect_contains": ["Thực phẩm", "63 sản phẩm", "(trang 1/8)"],
             "expect_payloads": ["b:c:food:1", "b:menu"], "expect_prefixes": ["p:"]},
            {"click": "b:c:food:1", "expect_edit": True, "expect_contains": ["(trang 2/8)"],
             "expect_payloads": ["b:c:food:0", "b:c:food:2"]},
            {"send": "2", "expect_pick": 2, "expect_payloads": ["b:c:food:1"]},  # "« List" goes back to page 2
            {"click": "b:d:luc-ngan:0", "expect_contains": ["Lục Ngạn (cũ)", "18 sản phẩm"]},
            {"click": "b:s:5:0", "expect_contains": ["Vải thiều Hồng Xuân Lục Ngạn", "1 sản phẩm"]},
            {"click": "b:c:food:99999", "expect_contains": ["(trang 8/8)"], "expect_not": ["b:c:food:8"]},
            {"click": "b:d:khong-co-huyen-nay:0", "expect_contains": ["Danh sách đó không còn nữa"]},
            {"send": "ocop 4 sao lục ngạn", "expect_contains": ["Lục Ngạn (cũ)", "4 sao OCOP", "4 sản phẩm"]},
            {"send": "danh mục", "expect_payloads": ["b:c:food:0"]},
        ],
    },
    {
        "name": "vi_language_switch_remembered",
        "language_hint": "vi",
        "steps": [
            {"send": "English please", "expect_contains": ["I will answer in English"]},
            {"send": "lychee", "expect_contains": ["I found", "Luc Ngan lychee (Hong Xuan)"]},
            {"restart": True},
            {"click": f"p:{HONG_XUAN}", "expect_contains": ["5-star OCOP (2024)", "Product group: Food",
                                                            "Lục Ngạn (former district)"]},
            {"send": "tiếng Việt", "expect_contains": ["trả lời bằng tiếng Việt"]},
            {"click": f"p:{HONG_XUAN}", "expect_contains": ["5 sao OCOP (2024)"]},
            {"send": "/lang", "expect_payloads": ["lang:vi", "lang:en"]},
            {"click": "lang:en", "expect_contains": ["I will answer in English"]},
            {"restart": True},
            {"send": "/start", "expect_contains": ["Hello", "I am OCOP Bot"]},
        ],
    },
    {
        "name": "vi_restart_in_the_middle",
        "language_hint": "vi",
        "steps": [
            {"send": "mật ong", "expect_contains": ["Mật ong rừng Sơn Động"]},
            {"restart": True},
            {"send": "số 3", "expect_pick": 3},
            {"click": "b:c:beverage:0", "expect_contains": ["Đồ uống", "(trang 1/2)"]},
            {"restart": True},
            {"click": "b:c:beverage:1", "expect_contains": ["(trang 2/2)"], "expect_edit": True},
            {"restart": True},
            {"send": "2", "expect_pick": 2},
            {"click": "m:where", "expect_contains": ["Cửa hàng và điểm bán sản phẩm OCOP"]},
            {"restart": True},
            {"send": "vải thiều Hồng Xuân", "expect_contains": ["Nơi mua Vải thiều Hồng Xuân Lục Ngạn"]},
        ],
    },
    {
        "name": "vi_how_many_stars_ocop",
        "language_hint": "vi",
        "steps": [
            {"send": "bao nhiêu sản phẩm OCOP 4 sao",
             "expect_contains": ["Danh mục demo có 27 sản phẩm OCOP", "334", "2024", "theo báo cáo"],
             "expect_payloads": ["b:s:4:0"]},
            {"send": "Bắc Giang có bao nhiêu sản phẩm OCOP?", "expect_contains": ["Danh mục demo có 88 sản phẩm OCOP"]},
            {"send": "sao OCOP nghĩa là gì", "expect_contains": ["Ý nghĩa hạng sao OCOP", "36 tháng", "cấp tỉnh",
                                                                 "cấp quốc gia"],
             "expect_payloads": ["b:s:5:0", "b:s:4:0", "b:s:3:0"]},
            {"send": "OCOP là gì", "expect_contains": ["Mỗi xã một sản phẩm", "2018"]},
            {"click": "m:count", "expect_contains": ["88 sản phẩm OCOP"]},
            {"send": "cảm ơn", "expect_contains": ["Không có gì"]},
            {"send": "/help", "expect_contains": ["Cách dùng OCOP Bot"]},
            {"send": "xin chào", "expect_contains": ["Xin chào"]},
        ],
    },
    # ---------------------------------------------------------------- English
    {
        "name": "en_search_card_list_followup",
        "language_hint": "en",
        "steps": [
            {"send": "/start", "expect_contains": ["Hello", "I am OCOP Bot", "demo"],
             "expect_payloads": ["m:find", "m:where", "m:contacts", "b:menu", "enq:start", "lang:menu"]},
            {"send": "chu noodles", "expect_contains": ["I found", "Xuan Truong Chu rice noodles"],
             "expect_prefixes": ["p:"]},
            {"send": "the second one", "expect_pick": 2, "expect_payloads": ["l:0"]},
            {"send": "Luc Ngan lychee Hong Xuan",
             "expect_contains": ["Vải thiều Hồng Xuân Lục Ngạn", "★★★★★ 5-star OCOP (2024)", "Product group: Food",
                                 "Lục Ngạn (former district)", "Fresh Luc Ngan lychee",
                                 "no phone or e-mail is published for this producer yet"],
             "expect_payloads": [f"where:{HONG_XUAN}", f"contact:{HONG_XUAN}", f"enq:start:{HONG_XUAN}",
                                 f"more:{HONG_XUAN}"]},
            {"send": "honey", "expect_contains": ["Yen My honey"]},
            {"send": "last one", "expect_pick": -1},
        ],
    },
    {
        "name": "en_no_match",
        "language_hint": "en",
        "steps": [
            {"send": "pizza", "expect_contains": ["I couldn't find “pizza”", "demo", "not in it yet"]},
            {"send": "2", "expect_contains": ["no list to choose from"]},
        ],
    },
    {
        "name": "en_where_to_buy_and_nearest",
        "language_hint": "en",
        "steps": [
            {"send": "where can I buy lychee",
             "expect_contains": ["Where to buy", "address not listed", "Postmart", "Pick one"],
             "expect_prefixes": ["where:"], "expect_keyboard": "location"},
            {"click": f"where:{HONG_XUAN}",
             "expect_contains": ["Where to buy Vải thiều Hồng Xuân Lục Ngạn", "No shop has reported carrying it yet",
                                 "số 454 đường Lê Lợi"],
             "expect_keyboard": "location"},
            {"location": [21.37, 106.57],
             "expect_contains": ["OCOP stores nearest to you", "1. Cửa hàng OCOP HTX sản xuất dược liệu Lưu Chanh",
                                 "approximate", "Đồi Ngô (Lục Nam)", "Stores whose location is not listed"],
             "expect_venue": False},
            {"location": [10.78, 106.70], "expect_contains": ["far from you", "Postmart"]},
            {"location": [999.0, 0.0], "expect_contains": ["does not look valid"]},
            {"send": "stores near me", "expect_contains": ["Share your location"], "expect_keyboard": "location"},
            {"send": "where to buy Chu noodles in Viet Yen",
             "expect_contains": ["Where to buy “chu noodles”", "Cửa hàng nông sản tiêu biểu huyện Việt Yên"]},
        ],
    },
    {
        "name": "en_contact_nothing_listed",
        "language_hint": "en",
        "steps": [
            {"send": "who makes Chu noodles", "expect_contains": ["Producers of “chu noodles”",
                                                                   "HTX Mỳ gạo Chũ Xuân Trường"],
             "expect_prefixes": ["contact:"]},
            {"click": "contact:ruou-men-la-kien-thanh",
             "expect_contains": ["The producer is not named in our sources.",
                                 "No phone or e-mail is published for this producer yet."]},
            {"send": "who makes it", "expect_contains": ["Whom to contact about Rượu men lá Kiên Thành"]},
            {"send": "contact", "expect_contains": ["Trade-promotion and OCOP contacts",
                                                    "Bac Ninh Department of Agriculture and Environment"]},
            {"click": "m:contacts", "expect_contains": ["Trade-promotion and OCOP contacts"]},
            {"send": "lychee honey", "expect_contains": ["Whom to contact about Mật ong hoa vải Hằng Hiếu"]},
            {"click": "m:contacts", "expect_contains": ["Trade-promotion and OCOP contacts"]},
            {"send": "how many 4 star products", "expect_contains": ["27 OCOP products"]},
            {"send": "lychee honey", "expect_contains": ["Hang Hieu lychee-flower honey", "Product group: Food"],
             "expect_not": ["Whom to contact"]},
        ],
    },
    {
        "name": "en_browse_and_paginate",
        "language_hint": "en",
        "steps": [
            {"send": "browse", "expect_payloads": ["b:c:food:0", "b:s:4:0", "b:d:luc-ngan:0"]},
            {"click": "b:s:4:0", "expect_contains": ["4-star OCOP", "27 products", "(page 1 of 4)"],
             "expect_payloads": ["b:s:4:1"]},
            {"click": "b:s:4:1", "expect_edit": True, "expect_contains": ["(page 2 of 4)"],
             "expect_payloads": ["b:s:4:0", "b:s:4:2"]},
            {"send": "the second one", "expect_pick": 2},
            {"click": "b:x:4+:food:luc-ngan:0", "expect_contains": ["Food", "4 stars or more", "5 products"]},
            {"send": "beverages", "expect_contains": ["Beverages", "11 products"]},
        ],
    },
    {
        "name": "en_language_switch",
        "language_hint": "en",
        "steps": [
            {"send": "/lang", "expect_payloads": ["lang:vi", "lang:en"]},
            {"click": "lang:vi", "expect_contains": ["trả lời bằng tiếng Việt"]},
            {"restart": True},
            {"click": "m:start", "expect_contains": ["Bạn muốn làm gì?"]},
            {"send": "where can I buy lychee", "expect_contains": ["Where to buy"]},
            {"click": "m:start", "expect_contains": ["Bạn muốn làm gì?"]},
        ],
    },
    {
        "name": "en_restart_in_the_middle",
        "language_hint": "en",
        "steps": [
            {"send": "honey", "expect_contains": ["Son Dong forest honey"]},
            {"restart": True},
            {"send": "the third one", "expect_pick": 3},
            {"restart": True},
            {"click": "more:mat-ong-yen-my", "expect_contains": ["Products like Mật ong Yên Mỹ"]},
            {"restart": True},
            {"send": "1", "expect_pick": 1},
        ],
    },
    {
        "name": "en_how_many_stars_ocop",
        "language_hint": "en",
        "steps": [
            {"send": "how many 4 star products", "expect_contains": ["27 OCOP products", "334", "2024", "reported"]},
            {"send": "how many OCOP products are there", "expect_contains": ["88 OCOP products"]},
            {"send": "how many lychee products", "expect_contains": ["matching “lychee”"], "expect_payloads": ["l:0"]},
            {"click": "l:0", "expect_contains": ["Luc Ngan lychee"]},
            {"send": "what do the stars mean", "expect_contains": ["What the OCOP stars mean", "36 months",
                                                                   "provincial level", "nationally"]},
            {"send": "what is OCOP", "expect_contains": ["One Commune One Product", "2018"]},
            {"send": "thanks", "expect_contains": ["You're welcome"]},
            {"click": "p:../../etc", "expect_contains": ["no longer in the catalogue"]},
            {"click": "zzz:unknown", "expect_contains": ["no longer valid"]},
            {"send": "/frobnicate", "expect_contains": ["I don't know the command"]},
        ],
    },
]
