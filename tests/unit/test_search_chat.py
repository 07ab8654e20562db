"""Search in the chat register: words nobody listed, needs and occasions, price and delivery words, lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.search import SearchAnswer, SearchIndex
from catalog.search.corrections import correction
from catalog.search.register import STRAY_FOREIGN, STRAY_STOPWORD, STRAY_VIETNAMESE, stray_weight
from catalog.text import fold

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"



def slugs(answer: SearchAnswer) -> list[str]:
    return [h.doc.slug for h in answer.results]


def names(answer: SearchAnswer) -> list[str]:
    return [h.doc.name_vi for h in answer.results]


def test_unknown_words_weigh_by_how_much_they_could_be_product_words() -> None:
    assert stray_weight("pía", "pia", 2) == pytest.approx(STRAY_VIETNAMESE)  # a Vietnamese syllable
    assert stray_weight("durian", "durian", 2) == pytest.approx(STRAY_FOREIGN)  # English-looking
    assert stray_weight("whatever", "whatever", 2) == pytest.approx(STRAY_STOPWORD)  # a function word
    assert stray_weight("wher", "wher", 2) == pytest.approx(STRAY_STOPWORD)  # one slipped letter from "where"
    assert stray_weight("cuốn", "cuon", 2) == pytest.approx(STRAY_VIETNAMESE)  # short query: a word, not chat
    assert stray_weight("st", "st", 2, code=True) == pytest.approx(STRAY_VIETNAMESE)  # part of "ST25"
    # The longer the message, the less each weighs.
    assert stray_weight("pía", "pia", 12) < stray_weight("pía", "pia", 4)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("vải thiều ship hn dc ko", "vai-thieu"),
        ("mk cần 10kg mỳ chũ", "my-"),
        ("🐓 gà đồi thả vườn", "ga-doi-yen-the"),
        ("cheap honey under 200k", "mat-ong"),
        ("wher to buy chiken", "ga"),
        ("were can i by lichee", "vai"),
        ("my wife is crazy about lychees, can you ship a box to Hanoi?", "vai"),
        ("Cho tôi hỏi sâm nam núi Dành loại khô này mua về ngâm rượu được không", "sam-nam-nui-danh-kho"),
    ],
)
def test_a_word_the_search_cannot_place_does_not_veto_the_ones_it_can(
    demo: SearchIndex, query: str, expected: str
) -> None:
    found = slugs(demo.search(query))
    assert found and any(expected in s for s in found[:3]), (query, found)


@pytest.mark.parametrize(
    "query",
    [
        "bánh pía",  # a known product word beside an unknown Vietnamese one: another product
        "bánh cuốn",
        "gạo ST25",  # a variety code
        "bưởi Diễn loại to ship hn ko",  # a name written as a name: another place's pomelo
        "xúc xích Đức nhập khẩu",
        "manuka honey from New Zealand",
        "đông trùng hạ thảo Tây Tạng hàng xách tay",
        "nước mắm Phú Quốc",
        "trà hoa cúc Hưng Yên",
        "bánh đa nem Thổ Hà",
        "yến sào Khánh Hòa hộp quà",  # another province, not the producer "Khánh Hoa" spelt alike
        "can u ship Dalat strawberries to Bac Giang?",  # Đà Lạt's strawberries, not a destination
        "cần thợ sửa máy bơm nước ở Lục Ngạn gấp",  # a service beside a place the catalogue knows
        "we want to hire a photographer in Luc Nam for the wedding",  # a service beside a need
        "bên mình có bán phân bón cho cây vải thiều không",  # supplies for a crop, whatever crop it is
        "shop có bán máy xay bột gạo để tự làm bánh cuốn không",  # equipment for making a product
        "cần mua vỏ chai thủy tinh để đóng rượu men lá bán tết",  # packaging for a product
        "tuyển người làm vườn vải ở Lục Ngạn, lương theo ngày",  # a job where a product grows
        "tối nay cần đặt phòng nhà trọ ở Yên Thế, có không",  # lodging where the chickens come from
        "bên mình có bán khuôn bánh để tự làm bánh phu thê không",  # a tool for making a product
        "shop co ban chuong de nuoi ga doi khong",  # housing for the animal, not the animal
        "any massage place near the Luc Ngan lychee orchards?",  # a service near a product's place
    ],
)
def test_what_the_catalogue_lacks_stays_not_found(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == [], query


def test_a_place_the_goods_go_to_is_not_what_they_are(demo: SearchIndex) -> None:
    assert slugs(demo.search("ship COD mật ong rừng về Hà Nội"))[:1] == ["mat-ong-rung-son-dong"]
    assert demo.search("mật ong rừng Hà Nội").results == []  # no cue: Hà Nội's honey


def test_a_need_is_answered_with_a_short_varied_selection(demo: SearchIndex) -> None:
    gift = demo.search("quà biếu tết cho sếp")
    assert gift.filters["use"] == ["gift", "tet"] and gift.terms == ""
    docs = [h.doc for h in gift.results]
    assert docs and all({"gift", "tet"} <= set(d.uses) for d in docs)
    kinds = [d.name_vi.split()[0] for d in docs[:4]]
    assert len(set(kinds)) == len(kinds), kinds  # one of a kind first
    joints = demo.search("mẹ em hay đau xương khớp, bên mình có sản phẩm thảo dược nào hỗ trợ không")
    assert slugs(joints)[:1] == ["thanh-ngam-xuong-khop-khanh-hoa"]
    assert slugs(demo.search("drinking too much at work parties, anything for the liver?"))[:1] == [
        "an-xoa-giai-doc-gan-khanh-hoa"
    ]


def test_health_lists_the_herbal_group_before_products_for_a_function_not_named(demo: SearchIndex) -> None:
    # A general need ("bồi bổ") is answered by the herbal group first; the liver and joint products, whose sources
    # speak of those functions only, come after it. Named, the function puts its product first.
    found = [h.doc for h in demo.search("đồ bồi bổ cho người mới ốm dậy").results]
    assert found and all(d.category == "herbal" for d in found)
    narrow = [n for n, d in enumerate(found) if {"liver", "joints"} & set(d.uses)]
    assert narrow and min(narrow) >= 3, [d.name_vi for d in found]  # still offered, after the group's tonics
    assert "liver" in demo.search("bồi bổ gan cho bố").results[0].doc.uses


def test_a_need_beside_a_product_is_a_preference_not_a_filter(demo: SearchIndex) -> None:
    assert any("vai" in s for s in slugs(demo.search("vải thiều làm quà"))[:3])  # fresh fruit is no "gift"
    wine = demo.search("rượu làm quà biếu")
    assert wine.results and all("gift" in h.doc.uses for h in wine.results[:3])


def test_price_delivery_and_wholesale_words_are_asked_not_searched(demo: SearchIndex) -> None:
    answer = demo.search("giá mật ong hoa vải bao nhiêu 1 lít, ship cod được không, mình lấy sỉ")
    assert slugs(answer)[:1] == ["mat-ong-hoa-vai-hang-hieu"]
    assert set(answer.asks) == {"price", "delivery", "wholesale"}
    assert demo.search("sầu riêng Lục Ngạn").asks == ()  # "Ngạn" is no "ngàn" (thousand)
    assert "price" in demo.search("mật ong dưới 200k").asks


def test_two_things_joined_are_both_answers(demo: SearchIndex) -> None:
    found = names(demo.search("nhờ shop gói giỏ quà Tết có rượu và trà"))
    assert any(n.startswith("Rượu") for n in found) and any(n.startswith(("Trà", "Chè")) for n in found)


def test_unknown_words_alone_say_what_was_asked_and_suggest(demo: SearchIndex) -> None:
    pizza = demo.search("pizza")
    assert pizza.results == [] and pizza.terms == "pizza"
    chuu = demo.search("chuu")
    assert chuu.results == [] and chuu.suggestions


def test_a_common_word_beside_a_place_is_asked_for_within_that_place(demo: SearchIndex) -> None:
    # "na" (custard apple) is also a chat word; in a long message it counts only where found, but beside a place
    # and nothing else it is what the buyer asks for: the place's products that have it, not all of the place's.
    answer = demo.search("na Lục Nam đầu mùa có đắt không")
    assert names(answer) and all(n.startswith("Na ") for n in names(answer))
    # "bác" (a form of address) beside a place finds nothing there: the place's slice, never another place's
    # products that happen to have the word ("Đông Bắc", "Bắc Giang").
    answer = demo.search("Cho bác hỏi huyện Tân Yên cũ có những sản phẩm OCOP nào?")
    assert answer.results and {h.doc.district for h in answer.results} == {"Tân Yên"}


def test_a_product_named_in_full_in_a_long_message_is_the_answer(demo: SearchIndex) -> None:
    # Where the buyer lives, how the goods should travel and other catalogue-like words ("đường", "đóng") do
    # not hide a product whose whole name the message spells out.
    answer = demo.search("Nhà em ở Biên Hòa, mẹ em thích na dai Nghĩa Phương lắm, đóng thùng gửi vào được không")
    assert names(answer)[:1] == ["Na dai Nghĩa Phương"]
    answer = demo.search("Con trai tôi đi làm bên Hàn Quốc, tôi muốn gửi ít mỳ gạo Chũ Xuân Trường sang cho nó")
    assert names(answer)[:1] == ["Mỳ gạo Chũ Xuân Trường"]
    answer = demo.search("I manage an Asian supermarket in Leeds and we would like to stock Huong Lac rice noodles")
    assert slugs(answer)[:1] == ["mi-gao-huong-lac"]
    # Another place's name, or a name the product lacks, beside the name: another product.
    assert demo.search("bên mình có mật ong rừng U Minh chính gốc không ạ, mình mua biếu").results == []


def test_one_ordinary_word_shared_with_a_name_does_not_beat_the_need(demo: SearchIndex) -> None:
    # "bác sĩ bảo" (the doctor says) shares "Bảo" with Bảo Sơn's wine; the message asks for help with joints.
    answer = demo.search("Mẹ tôi bị thoái hóa khớp, bác sĩ bảo nên uống thêm thảo dược, bên bạn có gì không")
    assert names(answer)[:1] == ["Thanh Ngâm xương khớp Khánh Hoa"]
    # A product word that serves the need named stays the answer.
    answer = demo.search("cho mình hỏi rượu nào làm quà biếu bố vợ, ông hay tiếp khách lắm")
    assert names(answer) and all("Rượu" in n for n in names(answer)[:3])


def test_chat_around_a_need_is_neither_a_typo_nor_an_origin(demo: SearchIndex) -> None:
    # Unknown words in a long message naming a need are its chat, not slips for catalogue words ("sư" is no
    # "xu xê" of bánh phu thê): the need is answered.
    answer = demo.search("Chồng tôi làm kỹ sư ở Singapore mấy năm nay, Tết này về, tôi muốn chuẩn bị ít quà biếu "
                         "cho đồng nghiệp của anh ấy")
    assert answer.results and answer.filters.get("use") in (["tet", "gift"], ["gift", "tet"], "gift", "tet")
    assert "Bánh phu thê Đa Mai" not in names(answer)
    # Another place's name beside the need asks for that place's goods.
    assert demo.search("Mình muốn mua đặc sản Đà Lạt làm quà biếu sếp nhân dịp cuối năm").results == []


def test_a_product_word_after_a_negation_is_ruled_out(demo: SearchIndex) -> None:
    answer = demo.search("Lục Ngạn ngoài vải thiều ra còn có đặc sản gì được gắn sao không")
    assert answer.results and not any(n.startswith("Vải") for n in names(answer))
    assert {h.doc.district for h in answer.results} == {"Lục Ngạn"}
    answer = demo.search("any drinks from Viet Yen? not wine please")
    assert not any("Rượu" in n for n in names(answer))


def test_a_district_s_towns_name_the_district(demo: SearchIndex) -> None:
    # The towns come from the administrative units' data: Đồi Ngô was Lục Nam's seat, Nhã Nam a town of Tân Yên.
    answer = demo.search("Thảo dược OCOP quanh thị trấn Đồi Ngô gồm những gì")
    assert answer.filters.get("district") == "Lục Nam" and answer.filters.get("category") == "herbal"
    assert answer.results and {h.doc.district for h in answer.results} == {"Lục Nam"}
    assert demo.search("Any 4-star OCOP food near Doi Ngo town?").filters.get("district") == "Lục Nam"
    assert demo.search("Bên Nhã Nam có hàng OCOP 4 sao nào").filters.get("district") == "Tân Yên"
    # A one-word town is a place only after a prefix, as a one-word commune is: "kép" is also "double".
    assert demo.search("hàng OCOP ở thị trấn Kép").filters.get("district") == "Lạng Giang"
    assert "district" not in demo.search("bánh kép nhân đậu").filters
    # Neither a regional spelling of a town nor a part of its name is read as it: "bản Sơn" is no Phương Sơn.
    assert "district" not in demo.search("mật ong hoa ban Sơn La").filters
    assert "district" not in demo.search("dam gio thang sau nha lam 15 mam").filters


def test_the_buyer_s_own_street_or_ward_is_no_other_place_s_goods(demo: SearchIndex) -> None:
    # A name after "phường", "thôn", "KCN"…, or after "ở" of a person, is where the buyer lives or works.
    for query in (
        "nhà em ở phường Dĩnh Kế, muốn tặng thầy ít trà",
        "Bác ở thôn Đồng Khanh muốn tặng thầy ít trà",
        "công ty em ở KCN Đình Trám muốn đặt trà làm quà",
    ):
        answer = demo.search(query, gated=False)
        assert answer.results and all("tea" in h.doc.name_en.lower() for h in answer.results[:3]), query
    # Without such a word the name stays another place's ("mật ong rừng U Minh"), and so does a word ending a
    # compound: "cung đình Huế" is Huế's court tea.
    assert demo.search("mật ong rừng U Minh", gated=False).results == []
    assert demo.search("Trà cung đình Huế gồm những vị gì", gated=False).results == []


def test_parts_taken_back_as_chance_words_leave_nothing_behind(demo: SearchIndex) -> None:
    # "cao với sâm" found as two parts, then read as chance words beside the need: the answer found after that has
    # no parts. (This raised KeyError in _taking_turns, found by the sixty-third set.) "lang dặn" is no Lạng Giang:
    # a regional spelling keeps the tones typed, and "Giang" has the level tone.
    query = "Ông lang dặn mua hoàng kỳ khô về sắc, mấy thứ cao với sâm thì ông không cần, có không?"
    for gated in (False, True):
        answer = demo.search(query, gated=gated)
        assert "district" not in answer.filters
        assert not any("Xôi" in h.doc.name_vi for h in answer.results)


def test_a_negation_denies_the_product_word_across_its_verbs(demo: SearchIndex) -> None:
    # "không tặng rượu", "không ai uống rượu": the verbs between the negation and the product word are its.
    for query in (
        "Quà cho cô giáo của con, cũng không tặng rượu, chỉ cần món nhỏ xinh",
        "Quà tân gia cho anh trưởng phòng, nhà anh ấy không ai uống rượu, mua gì cho ý nghĩa ạ?",
    ):
        answer = demo.search(query, gated=False)
        assert answer.results and not any(h.doc.name_vi.startswith("Rượu") for h in answer.results), query
    # Without a product word after them the verbs deny nothing: "không ai uống được" says nothing of the wine.
    answer = demo.search("rượu nếp này không ai uống được à", gated=False)
    assert answer.results and answer.results[0].doc.name_vi.startswith("Rượu")


def test_a_group_ruled_out_rules_out_its_list_and_stops_at_the_clause(demo: SearchIndex) -> None:
    answer = demo.search("Lục Ngạn products, but not food, drinks only please", gated=False)
    assert answer.filters.get("category") == "beverage" and answer.filters.get("district") == "Lục Ngạn"
    answer = demo.search("mình không cần đồ ăn hay đồ uống, có điểm du lịch nào không", gated=False)
    assert answer.filters.get("category") == "tourism"
    assert answer.results and {h.doc.category for h in answer.results} == {"tourism"}


def test_goods_before_then_and_a_negation_closing_the_clause_are_ruled_out(demo: SearchIndex) -> None:
    # "X cũng không uống", "X thì khỏi", "X thì thôi"; a need after "không dùng" is no need asked for.
    parsed = demo.parser.parse("quà cho bà chủ nhà, bà không dùng đồ bổ, rượu cũng không uống")
    assert "health" not in parsed.uses and "gift" in parsed.uses
    answer = demo.search("quà cho bà chủ nhà, bà không dùng đồ bổ, rượu cũng không uống", gated=False)
    assert answer.results and not any(h.doc.name_vi.startswith("Rượu") for h in answer.results)
    answer = demo.search("đồ ăn thì khỏi, đồ uống Lục Ngạn có gì", gated=False)
    assert answer.filters.get("category") == "beverage"
    # A bare "không" before a need's phrase is the need: "để không buồn ngủ" is to stay awake.
    assert "awake" in demo.parser.parse("cần gì uống để không buồn ngủ khi làm ca đêm").uses
    # A negation going on to other words denies nothing before it.
    assert names(demo.search("mật ong thì không ngọt lắm à", gated=False))[0].startswith("Mật ong")


def test_a_product_name_ruled_out_is_ruled_out_whole(demo: SearchIndex) -> None:
    # "ngoài mỳ gạo Cảnh Thụy ra": the commune in the name is no place asked about; the district after it is.
    answer = demo.search("ngoài mỳ gạo Cảnh Thụy ra, Yên Dũng còn gì nữa", gated=False)
    assert answer.filters.get("district") == "Yên Dũng" and "commune" not in answer.filters
    assert answer.results and not any("Cảnh Thụy" in h.doc.name_vi for h in answer.results)
    # Typed with marks, "dùng" (use) is no "đừng" (don't): the flower buds are asked about.
    assert "Nụ hoa sâm nam núi Dành khô" in names(demo.search("người già dùng nụ hoa sâm nam được không", gated=False))[:2]


def test_asking_whether_the_bot_is_a_machine_asks_for_no_machine(demo: SearchIndex) -> None:
    for query, meant in (
        ("Am I talking to a real person or a machine? I need Ban Ven green tea", "Chè xanh Bản Ven"),
        ("bạn là người thật hay máy vậy, mình cần mật ong rừng Sơn Động", "Mật ong rừng Sơn Động"),
    ):
        assert meant in names(demo.search(query, gated=False))[:2], query
    # A machine asked for is still supplies, whatever product it works on.
    assert demo.search("máy xay bột gạo làm bánh có bán không", gated=False).results == []


def test_a_nationality_said_of_a_person_is_no_origin_of_the_goods(demo: SearchIndex) -> None:
    # "e ng Hàn", "vợ Đài Loan", "khách Nhật Bản": who somebody is, not another country's goods.
    for query, meant in (
        ("e ng Hàn, mật ong rừng Sơn Động còn ko ad", "Mật ong rừng Sơn Động"),
        ("chị ơi em là vợ Đài Loan, chè xanh Bản Ven có không", "Chè xanh Bản Ven"),
        ("khách Nhật Bản hỏi mua giò lụa Thao Thanh", "Giò lụa Thao Thanh"),
        ("lớp học tiếng Việt của tôi muốn mua chè xanh Bản Ven", "Chè xanh Bản Ven"),  # a language
    ):
        assert meant in names(demo.search(query, gated=False))[:2], query
    # The country's goods are still another country's: "mật ong Nhật Bản".
    assert demo.search("mật ong Nhật Bản có không", gated=False).results == []


def test_something_else_asked_of_the_bot_asks_for_no_product(demo: SearchIndex) -> None:
    for query in (
        "Tell me a joke about chickens, my kids love those",
        "bot ơi kể sự tích bánh chưng cho con nghe với",
        "translate 'my honey' into Vietnamese please",
    ):
        answer = demo.search(query, gated=False)
        assert answer.results == [] and "offtopic" in answer.asks, query
    # A product named in full beside it is still asked for.
    answer = demo.search("kể chuyện cười dở quá, thôi tìm giúp mình rượu men lá Kiên Thành", gated=False)
    assert names(answer)[:1] == ["Rượu men lá Kiên Thành"]


def test_learning_to_cook_at_home_asks_for_the_ingredients(demo: SearchIndex) -> None:
    answer = demo.search("em đang học nấu chè ngô cho con, cần mua nguyên liệu chính ở đâu", gated=False)
    assert "Ngô ngọt nguyên hạt Vifoco" in names(answer)[:2]
    # A class asked for is still no product.
    assert demo.search("ở đâu có lớp dạy nấu chè ngô cuối tuần", gated=False).results == []


def test_a_place_or_a_rating_ruled_out_is_not_asked_about(demo: SearchIndex) -> None:
    answer = demo.search("không lấy hàng Lục Ngạn, Tân Yên có gì", gated=False)
    assert answer.filters.get("district") == "Tân Yên"
    answer = demo.search("nothing from Luc Ngan please, what 4-star items does Hiep Hoa have", gated=False)
    assert answer.filters.get("district") == "Hiệp Hòa"
    answer = demo.search("đồ ăn nhưng không phải loại 3 sao, loại 4 sao có gì", gated=False)
    assert answer.filters.get("stars") == 4
    # Typed plain, "ngoai" may be ngoại: "quê ngoại ở Yên Dũng" asks about Yên Dũng.
    assert demo.search("ve que ngoai o Yen Dung, hang OCOP ben do co gi", gated=False).filters.get("district") == "Yên Dũng"


def test_one_ordinary_word_does_not_beat_the_place_a_long_message_asks_about(demo: SearchIndex) -> None:
    # "bảo" (said) shares a word with Bảo Sơn's wine, which is not in Sơn Động: the place is the question.
    answer = demo.search("Thằng cháu đi bộ đội ở Sơn Động về, nó bảo trên đó nhiều đặc sản lắm, có những gì vậy")
    assert answer.results and {h.doc.district for h in answer.results} == {"Sơn Động"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cho minh hoi dua kim hoang hau yen dung co giao vao thang 5 ko, minh muon dat 2 thung", "dua-kim"),
        ("mua vu sua tan yen ngon o dau shop oi", "vu-sua"),  # "sua" is vú sữa here, not sửa (repair)
    ],
)
def test_plain_typed_common_words_are_not_services(demo: SearchIndex, query: str, expected: str) -> None:
    # "muon" typed plain is muốn (want), not mướn (hire): no service is asked for, the product is found.
    assert "service" not in demo.search(query).asks
    assert slugs(demo.search(query))[:1] and slugs(demo.search(query))[0].startswith(expected)


@pytest.mark.parametrize(
    "query",
    [
        "kẹo cao su vị vải thiều",  # chewing gum, lychee-flavoured
        "keo cao su vi vai",
        "móc khóa hình con gà Yên Thế",  # a key ring shaped like a chicken
        "sữa tắm hương mật ong rừng",
        "ốp lưng điện thoại in hình vải thiều",
        "lychee flavoured yoghurt",
    ],
)
def test_a_product_word_that_only_describes_another_thing_finds_nothing(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == []


def test_a_described_product_word_still_ranks_what_the_head_finds(demo: SearchIndex) -> None:
    assert names(demo.search("honey flavoured tea"))[0].startswith(("Chè", "Trà"))
    assert names(demo.search("mật ong hương vải"))[0] == "Mật ong hoa vải Hằng Hiếu"
    assert names(demo.search("nến thơm mùi mật ong")) == ["Hương nến Bồng Am"]
    # Where the catalogue writes the words together it is a name, not a description.
    assert names(demo.search("mỳ hương lạc")) == ["Mì gạo Hương Lạc"]


def test_a_long_message_is_read_to_its_end(demo: SearchIndex) -> None:
    # The product comes after some forty words of chat.
    query = (
        "Chào shop, năm nào nhà mình cũng về quê ngoại ăn Tết nhưng năm nay các cháu bận thi cử, bà ngoại "
        "lại yếu nên cả nhà quyết định ở lại thành phố, mình muốn đặt trước ít đặc sản cho bà vui, nhất là "
        "bánh chưng Vân mà bà thích nhất, shop còn nhận đơn không"
    )
    assert len(query.split()) > 40
    assert names(demo.search(query))[0].startswith("Bánh chưng")


def test_a_catalogue_place_the_goods_are_sent_to_is_not_their_origin(demo: SearchIndex) -> None:
    answer = demo.search("Sắp giỗ ông, em muốn đặt ít đồ cúng rồi nhờ shop gửi về cho mẹ ở Lục Nam được không")
    assert answer.filters.get("use") == "offering" and "district" not in answer.filters
    # Where the goods come from is still read after "ở": "mật ong ở Sơn Động".
    assert demo.search("mật ong ở Sơn Động có không").filters.get("district") == "Sơn Động"


def test_a_bare_sending_verb_before_a_city_and_a_function_word(demo: SearchIndex) -> None:
    assert names(demo.search("chả gà Yên Thế ship Hà Nội trong tuần được ko"))[0] == "Chả gà Yên Thế"


@pytest.mark.parametrize(
    "query",
    [
        "sếp em không uống rượu được, nên biếu gì cho sang",
        "my father in law doesn't drink alcohol, what else makes a good gift",
    ],
)
def test_what_somebody_does_not_drink_is_ruled_out_of_the_gift(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results and not any(h.doc.category == "beverage" and "Rượu" in h.doc.name_vi for h in answer.results)
    assert answer.filters.get("use") == "gift" and "category" not in answer.filters


def test_a_need_far_from_a_name_is_still_the_question(demo: SearchIndex) -> None:
    # "Vietnamese", "Sunday" and a brand (Airbnb) are not other places' goods; the need or the tea is asked for.
    answer = demo.search("Going to my Vietnamese colleague's home on Sunday for her grandmother's death anniversary, what do I bring for the altar")
    assert "offering" in answer.filters.get("use") and answer.results  # (brought to a colleague's: a gift too)
    assert all("offering" in h.doc.uses for h in answer.results)
    tea = demo.search("what's a nice present from Bac Giang for my Airbnb host in Saigon? she is a big tea person")
    assert tea.results and all(h.doc.name_vi.startswith(("Chè", "Trà")) for h in tea.results[:3])


def test_a_place_written_with_other_marks_is_other_words(demo: SearchIndex) -> None:
    assert names(demo.search("cho mình hỏi mỳ Châu Sơn là của xã nào"))[:1] == ["Mỳ Châu Sơn"]


def test_a_long_english_slip_beside_a_need_is_still_a_typo(demo: SearchIndex) -> None:
    answer = demo.search("need some chiken sausges from yen the for a birthday party this weekend")
    assert names(answer)[:1] == ["Xúc xích gà Yên Thế"]


def test_guests_from_abroad_do_not_block_the_group_asked_for(demo: SearchIndex) -> None:
    answer = demo.search("Tuần sau công ty có khách Nhật Bản sang làm việc, muốn mời họ thử đồ uống đặc sản của tỉnh mình")
    assert answer.results and {h.doc.category for h in answer.results} == {"beverage"}
    # Another province's name beside the place the catalogue has still asks for that province's goods.
    assert demo.search("cao ban long gạc nai Hương Sơn Hà Tĩnh loại nào ngon").results == []


def test_a_group_after_a_negation_is_not_asked_for(demo: SearchIndex) -> None:
    for query in ("trừ đồ ăn ra thì có đồ thủ công mỹ nghệ nào không", "anything handmade? not food please"):
        answer = demo.search(query)
        assert answer.filters.get("category") == "handicraft", query


def test_the_first_rating_named_is_asked_for_and_a_negated_one_is_not(demo: SearchIndex) -> None:
    assert demo.search("Lục Ngạn có sản phẩm nào 3 sao không, hay toàn 4 sao").filters.get("stars") == 3
    assert demo.search("muốn xem hàng ba sao ở Yên Thế thôi, không cần bốn sao").filters.get("stars") == 3


@pytest.mark.parametrize(
    "query",
    [
        "đàn gà nhà tôi ở Yên Thế bị dịch, cần bác sĩ thú y gấp",
        "where can I get my phone's warranty fixed in Luc Ngan",
        "đặt vé xe khách đi Lục Ngạn ở đâu",
        "có ai bán đất vườn vải ở Lục Ngạn không",
    ],
)
def test_services_near_a_catalogue_word_are_not_products(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == []


def test_a_person_or_a_trip_beside_a_gift_is_not_a_service(demo: SearchIndex) -> None:
    assert demo.search("My Vietnamese tutor is moving to Hue, I'd like to give her something from this region").results
    assert demo.search("bánh phu thê có mang lên máy bay được không, chuyến bay 9 tiếng").results


@pytest.mark.parametrize(
    "query",
    [
        "con trai tôi sắp đi xuất khẩu lao động, muốn gói ít đồ khô mang theo ăn dần",
        "I'm flying home to Toronto next week, what can I pack that won't spoil in my suitcase?",
    ],
)
def test_food_that_keeps_for_a_long_trip(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert "keeps" in (answer.filters.get("use") or ()) and answer.results
    assert all("keeps" in h.doc.uses for h in answer.results)


@pytest.mark.parametrize(
    "query",
    [
        "khoai tây Lục Nam còn hàng không shop",  # unknown words right before a place
        "khoai lang Tân Yên còn không",
        "cam đường Yên Thế còn hàng không ạ",  # catalogue words no product has together, before a place
        "củ đậu Lạng Giang còn không shop",
    ],
)
def test_what_a_place_does_not_make_is_not_its_products(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == []


def test_a_service_word_beside_a_gift_is_who_receives_it(demo: SearchIndex) -> None:
    answer = demo.search("Bác hàng xóm làm thợ sửa xe, giúp nhà em nhiều lắm, Tết này muốn biếu bác chút quà quê")
    assert answer.results and "service" not in answer.asks


def test_plain_words_in_a_message_written_with_marks_are_those_words(demo: SearchIndex) -> None:
    # "quốc gia" (national) is no "giá" (price); the five-star product is found.
    answer = demo.search("cho mình xem sản phẩm OCOP 5 sao cấp quốc gia với")
    assert "price" not in answer.asks and answer.results and all(h.doc.stars == 5 for h in answer.results)


@pytest.mark.parametrize(
    "query",
    [
        "cuối tuần em về quê người yêu lần đầu, nên mang gì sang biếu ông bà bên ấy",
        "dinner at my boss's house on Saturday, what should I bring him",
        "sắp tới gặp đối tác ở Hải Dương, muốn mang chút đặc sản theo",
    ],
)
def test_a_way_of_giving_and_a_person_ask_for_a_gift(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert "gift" in (answer.filters.get("use") or ()) and answer.results
    assert all("gift" in h.doc.uses for h in answer.results)


def test_an_implied_gift_does_not_reorder_the_product_named(demo: SearchIndex) -> None:
    # Sent to a wife, lychees are still what is asked for, not a giftable product that mentions them.
    answer = demo.search("could you send some lychees to my wife in Da Nang")
    assert answer.results and "lychee" in answer.results[0].doc.name_en.lower()
    # Without a person, bringing something is no gift.
    assert "gift" not in (demo.search("mang theo đồ ăn đi phượt").filters.get("use") or ())


@pytest.mark.parametrize(
    "query",
    ["nhà có người ăn chay, mua gì nấu được", "my sister went vegan, anything from Bac Giang she can cook with?"],
)
def test_vegetarian_cooking_is_plant_food(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert "vegetarian" in (answer.filters.get("use") or ()) and answer.results
    assert all("vegetarian" in h.doc.uses for h in answer.results)
    assert not any(w in h.doc.name_vi.lower() for h in answer.results for w in ("gà", "giò", "chả", "thịt", "rượu"))


def test_running_a_coach_is_not_vegetarian(demo: SearchIndex) -> None:
    # "chay" alone is also "chạy" (run, drive) typed plain: only "ăn chay", "đồ chay"… name the need.
    assert "vegetarian" not in (demo.search("anh chay xe khach tuyen bac giang ha noi").filters.get("use") or ())


def test_a_need_the_products_asked_for_cannot_serve_is_only_a_wish(demo: SearchIndex) -> None:
    # No 4-star food of Yên Thế is a packaged gift: the 4-star food is what was asked for, not claimed as a gift.
    answer = demo.search("muốn biếu ông bà ít đồ ăn 4 sao của Yên Thế, có những gì")
    assert answer.results and "use" not in answer.filters
    assert all(h.doc.stars == 4 and h.doc.district == "Yên Thế" and h.doc.category == "food" for h in answer.results)
    # A place alone beside a health need is where the buyer is, not a wish for its products.
    assert not demo.search("phòng khám xương khớp nào tốt ở thành phố Bắc Giang").results


def test_a_place_after_a_preposition_and_an_article_is_where_the_buyer_was(demo: SearchIndex) -> None:
    for query in ("golden queen melon, had it once in a hanoi supermarket", "send chicken patties to our Hanoi office"):
        parsed = demo.parser.parse(query)
        assert not [u.text for u in parsed.units if u.role == "elsewhere"]  # not Hà Nội's goods
        assert demo.search(query).results


@pytest.mark.parametrize(
    "query",
    [
        "shop có xà phòng sả chanh mật ong không ạ",
        "looking for ginseng shampoo for my hair",
        "có áo thun in quả vải thiều bán không",
        "honey lip balm, natural",
    ],
)
def test_other_goods_described_by_a_product_word_are_not_that_product(demo: SearchIndex, query: str) -> None:
    # Soap, shampoo, a T-shirt, lip balm: what is asked for is the thing the catalogue has none of.
    assert not demo.search(query).results


def test_a_product_word_beside_other_goods_it_does_not_describe_is_still_asked(demo: SearchIndex) -> None:
    # In English the goods come after the word that describes them: "honey? and a candle" asks for honey. (The rules'
    # reading: whether the learned gate trusts it is the gate's tests' matter.)
    answer = demo.search("do you have honey? and a candle", gated=False)
    assert answer.results and "honey" in answer.results[0].doc.name_en.lower()


def test_the_province_the_whole_catalogue_is_in_tells_nothing(demo: SearchIndex) -> None:
    # "Bắc Giang" is in every demo product's address: beside a fruit nobody makes here it is no reason to answer
    # with whatever fruit or drink happens to carry the province's name.
    assert not demo.search("Do you have mangosteen? heard Bac Giang grows lots of fruit").results
    # "về nước" is going home to one's country; the gift is the question, not a drink named "nước".
    answer = demo.search("tuần sau mình về nước rồi, muốn mua ít đặc sản Bắc Giang làm quà cho gia đình")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results)
    # A product word of the province is still asked for.
    answer = demo.search("em là dân sành ăn, muốn try các loại giò của Bắc Giang")
    assert answer.results and all(h.doc.name_vi.startswith("Giò") for h in answer.results[:3])


def test_a_number_of_years_or_months_is_no_product_word(demo: SearchIndex) -> None:
    def texts(query: str) -> list[str]:
        return [u.text for u in demo.parser.parse(query).units]

    assert "nam" not in texts("ky niem 15 nam ngay cuoi bo me, muon tang qua")  # năm: years, not nấm or sâm nam
    assert "thang" not in texts("chau 9 thang tuoi")
    assert "nam" in texts("mua 2 nấm rơm")[0].split()  # typed with its own marks it is the mushroom
    assert texts("mua 2 nấm hương") == ["nam huong"]  # (the shiitake: a word of its own, see compounds.py)
    assert "gio" in texts("lấy 2 gio nhé")  # "giờ" typed plain is more likely giò


def test_a_name_after_a_verb_of_going_is_where_somebody_goes(demo: SearchIndex) -> None:
    # Đức (Germany) is also part of a producer's name (Hợp Đức): after "sang" it is where the team travels.
    answer = demo.search("cả nhóm sang Đức công tác tuần sau, muốn mang ít quà quê tặng đối tác")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results)
    # A word typed with other marks is no verb of going: "dầu mè đen Đại An" is black sesame oil of Đại An.
    assert demo.search("dau me đen Đại An").results[0].doc.name_vi == "Dầu mè đen Đại An"


def test_dishes_asked_of_a_place_are_its_products(demo: SearchIndex) -> None:
    # "món" (a dish, an item) is chat: beside a place it asks for what the place makes.
    answer = demo.search("cho xem mấy món ở Yên Dũng với")
    assert answer.results and all(h.doc.district == "Yên Dũng" for h in answer.results[:3])


def test_the_words_of_a_place_name_ask_nothing(demo: SearchIndex) -> None:
    # "Ngạn" typed plain is "ngan", as "ngàn" (thousand) is: inside the place's name it asks no price.
    assert "price" not in demo.parser.parse("cho xem hang o Luc Ngan").asks
    assert "price" in demo.parser.parse("vai Luc Ngan 50 ngan 1 kg").asks


def test_changing_money_is_a_service(demo: SearchIndex) -> None:
    assert not demo.search("any money exchange near Luc Ngan market?").results
    assert not demo.search("where to exchange US dollars in Bac Giang").results


@pytest.mark.parametrize(
    "query",
    [
        "cuối tuần cả nhà tụ tập nấu lẩu, bên mình có gì làm đồ nhúng không",
        "mình mới ra ở riêng, tập tự nấu ăn, nên mua sẵn gì trong bếp",
        "any local ingredients I could cook with at my homestay kitchen?",
    ],
)
def test_cooking_a_meal_is_a_need_for_ingredients(demo: SearchIndex, query: str) -> None:
    # Meat, giò and chả, noodles, sticky rice, mushrooms, bamboo shoots, oils: what a cook buys, not fruit or wine.
    answer = demo.search(query)
    assert answer.results and all("cooking" in h.doc.uses for h in answer.results), names(answer)


def test_a_gift_for_a_cook_is_what_serves_both(demo: SearchIndex) -> None:
    # A birthday beside a gift is its occasion: no party food, but presents a cook would use.
    answer = demo.search("sinh nhật mẹ sắp tới, mẹ mê nấu nướng lắm, con muốn tặng mẹ thứ gì của quê")
    assert answer.results and all({"gift", "cooking"} <= set(h.doc.uses) for h in answer.results), names(answer)
    # Drinking is a taste, not an occasion: the gift is wine.
    answer = demo.search("anh hàng xóm hay giúp đỡ, muốn biếu anh chút quà quê, anh thích nhậu")
    assert answer.results[0].doc.category == "beverage", names(answer)


def test_needs_no_product_serves_together_answer_the_narrowest(demo: SearchIndex) -> None:
    # Nothing is both for the liver and food for a party: the liver product, not a list of party food after it.
    answer = demo.search("tuần nào chồng cũng đi nhậu với khách, có gì cho gan không")
    assert [h.doc.uses for h in answer.results] and all("liver" in h.doc.uses for h in answer.results), names(answer)


def test_product_words_of_a_message_come_first_among_a_need(demo: SearchIndex) -> None:
    # The need is the question, and of the products that serve it those with the words named lead.
    answer = demo.search("sắp giỗ ông, mẹ dặn mua nếp về đồ xôi, ở đây có loại nào ngon")
    assert answer.results and any("nếp" in n.lower() or "xôi" in n.lower() for n in names(answer)[:2]), names(answer)


def test_a_known_phrase_typed_with_other_marks_is_other_words(demo: SearchIndex) -> None:
    # "dâu tương lai" (a future daughter-in-law) is no "đậu tương" (soybeans).
    parsed = demo.parser.parse("em là con dâu tương lai, nên mua gì biếu nhà chồng")
    assert "dau tuong" not in [u.text for u in parsed.units]


def test_a_word_of_a_commune_name_serves_no_need(demo: SearchIndex) -> None:
    # "cho phải đạo" (to do it properly) shares a word with the commune Tuấn Đạo, whose honey is a gift: the
    # offering is the question, not that honey.
    answer = demo.search("ngày giỗ ông ngoại sắp tới, con cháu nên sắm lễ gì mang về cho phải đạo")
    assert answer.results and all("offering" in h.doc.uses for h in answer.results), names(answer)


def test_a_ban_rules_out_every_product_word_it_lists(demo: SearchIndex) -> None:
    parsed = demo.parser.parse("con sang Úc du học, nghe nói hải quan cấm thịt và hoa quả, nên mang đồ khô gì")
    assert {x.target for x in parsed.excluded} >= {("thit",), ("hoa", "qua")}
    # As written: "cắm trại" (camping) bans nothing.
    assert not demo.parser.parse("đi cắm trại ở Yên Thế, mua gà với bún").excluded


def test_a_word_of_a_product_name_that_is_no_product_word_is_chat(demo: SearchIndex) -> None:
    # "thực tập sinh" (an intern) shares "sinh" with "Măng … Lâm sinh": that is no reason to answer bamboo shoots.
    answer = demo.search("em trai sắp sang Nhật làm thực tập sinh, muốn mang theo đồ khô quê mình để tự nấu ăn")
    assert answer.results and all({"keeps", "cooking"} <= set(h.doc.uses) for h in answer.results), names(answer)


def test_a_nationality_is_no_product_word(demo: SearchIndex) -> None:
    # "người Đức" (a German) shares "Đức" with the star-apple cooperative of Hợp Đức.
    answer = demo.search("sếp mới của em là người Đức, em muốn biếu anh ấy chút quà quê nhân dịp cuối năm")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results), names(answer)


def test_confectionery_is_cakes_and_snacks(demo: SearchIndex) -> None:
    answer = demo.search("tụi nhỏ nhà chị thích bánh kẹo, quê mình có gì ngon")
    assert answer.results and all(
        h.doc.name_vi.startswith(("Bánh", "Snack")) for h in answer.results[:3]
    ), names(answer)


@pytest.mark.parametrize(
    ("query", "need"),
    [
        ("thứ bảy này đi ăn tân gia nhà anh họ, nên cầm theo gì", "gift"),
        ("sắp tới ngày của mẹ, muốn gửi mẹ chút đặc sản", "gift"),
        ("christmas is coming, something from Bac Giang for my neighbours?", "gift"),
        ("em bé nhà mình tập ăn dặm, mẹ muốn tự nấu cho bé", "cooking"),
        ("chị gái đang ở cữ, muốn mua gì cho chị", "health"),
        ("cuối tháng Chạp nhà em làm giỗ, cần sắm gì", "offering"),
        ("con gái tôi sắp lấy chồng, nhà gái nên chuẩn bị gì", "wedding"),
        ("tuần sau cả nhóm đi cắm trại hai ngày, mua gì mang theo", "ready"),
        ("cần mua đồ làm bữa sáng cho bọn trẻ trước giờ đi học", "breakfast"),
    ],
)
def test_occasions_of_life_name_their_need(demo: SearchIndex, query: str, need: str) -> None:
    answer = demo.search(query, gated=False)  # the rules' reading (the gate may offer it as the closest instead)
    assert need in demo.parser.parse(query).uses
    # Health answers are the herbal group and the products tagged; every other need, only products serving it.
    assert answer.results and all(
        need in h.doc.uses or (need == "health" and h.doc.category == "herbal") for h in answer.results
    ), names(answer)


@pytest.mark.parametrize(
    "query", ["có bán cà phê vải thiều không shop", "honey roasted almonds, 2 jars please", "walnut honey cake"]
)
def test_a_food_the_catalogue_lacks_described_by_a_product_word_is_not_that_product(
    demo: SearchIndex, query: str
) -> None:
    # Coffee with lychee, almonds with honey: foods the lexicon knows and no product is; the product word
    # only describes them.
    assert not demo.search(query).results, names(demo.search(query))


def test_a_lacking_food_spells_no_catalogue_word(demo: SearchIndex) -> None:
    # "hạnh nhân" (almond) must not make "nhân" (of "nhân viên", staff) a spelling of "nhãn" (longan).
    answer = demo.search("bên mình làm nhân sự, cần đặt quà sinh nhật cho nhân viên")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results), names(answer)


def test_a_negation_ends_with_its_clause(demo: SearchIndex) -> None:
    # "không phải, …": the comma closes the negation; the custard apple after it is what is asked for.
    answer = demo.search("ko phải xoài, na Lục Nam ấy, còn hàng không")
    assert answer.results and answer.results[0].doc.name_vi == "Na Lục Nam", names(answer)


@pytest.mark.parametrize(
    "query", ["ổi Tân Yên có trồng không dùng thuốc trừ sâu không shop", "is the Tan Yen guava pesticide-free?"]
)
def test_supplies_said_of_a_product_are_no_request_for_supplies(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert "supplies" not in answer.asks and answer.results[0].doc.name_vi == "Ổi Tân Yên", names(answer)


def test_a_product_named_for_itself_is_not_ruled_out_by_a_negation_of_its_kind(demo: SearchIndex) -> None:
    # The buyer names the wine, then says he cannot drink strong wine: the wine named is still the answer.
    answer = demo.search("bà hỏi rượu nếp ngâm hạ thổ của Vân Hương để được bao lâu, bà chỉ uống rượu nhẹ, không uống "
                         "được rượu nặng")
    assert answer.results and answer.results[0].doc.name_vi == "Rượu nếp ngâm hạ thổ Vân Hương", names(answer)
    # Said alone, the negation still rules the wine out.
    assert not any("Rượu" in n for n in names(demo.search("ông không uống được rượu, mua quà gì cho ông")))


def test_a_kind_of_product_inside_a_need_phrase_comes_first(demo: SearchIndex) -> None:
    # "thắp hương" (burning incense) is an offering, and names the incense: it leads the selection.
    answer = demo.search("mai rằm, nhà cần thắp hương")
    assert answer.results and answer.results[0].doc.name_vi.startswith("Hương"), names(answer)
    # "ăn chay" names a need, not the herbal product whose name begins "An".
    assert not names(demo.search("nhà mình ăn chay, có gì không"))[0].startswith(("An ", "Dầu mè đen Đại An"))


def test_a_word_of_a_lexicon_phrase_spells_no_catalogue_word_alone(demo: SearchIndex) -> None:
    # "mát" is written so in "mát gan", but alone it is no "mật" (honey): "trà … cho mát" asks for tea.
    answer = demo.search("có trà gì uống cho mát không")
    assert answer.results and all(fold(h.doc.name_vi).startswith(("che", "tra")) for h in answer.results)


def test_an_ailment_the_catalogue_makes_no_claim_for_leaves_the_product_asked(demo: SearchIndex) -> None:
    # No source presents a product as a sleep aid: the tea asked for is the answer, and no need is claimed.
    answer = demo.search("muốn mua trà cho người mất ngủ")
    assert answer.results and "use" not in answer.filters, names(answer)
    assert all(fold(n).startswith(("che", "tra")) for n in names(answer)), names(answer)


def test_a_country_after_viet_kieu_is_where_the_buyer_lives(demo: SearchIndex) -> None:
    parsed = demo.parser.parse("mình là Việt kiều Canada, muốn gửi ít mỳ ngũ sắc về cho gia đình")
    assert not [u.text for u in parsed.units if u.role == "elsewhere"]


def test_needs_the_place_cannot_serve_together_answer_those_it_can(demo: SearchIndex) -> None:
    # Tân Yên makes no wedding gift; its gifts are what the buyer can take home from the wedding trip.
    answer = demo.search("cuối tuần đi đám cưới bạn ở Tân Yên, tiện mua ít đặc sản về làm quà, có gì")
    assert answer.results and all(h.doc.district == "Tân Yên" and "gift" in h.doc.uses for h in answer.results)
    assert answer.filters.get("use") == "gift"


def test_tay_yen_tu_is_in_son_dong(demo: SearchIndex) -> None:
    # The Tây Yên Tử festival is held in Sơn Động (facts file, S29).
    answer = demo.search("đi lễ hội Tây Yên Tử thì mua đặc sản gì")
    assert answer.results and all(h.doc.district == "Sơn Động" for h in answer.results), names(answer)


def test_a_need_offers_its_most_typical_kinds_first(demo: SearchIndex) -> None:
    # Offerings: incense, wine, xôi… before the fruit of the season (catalog/data/uses.json, `first`).
    first = names(demo.search("cúng ông Công ông Táo cần chuẩn bị gì"))[0]
    assert fold(first).startswith(("huong", "ruou", "xoi")), first
    # Drinking snacks: wine, nem, chả, giò before a whole chicken.
    first = names(demo.search("đồ nhắm cho buổi nhậu cuối tuần"))[0]
    assert fold(first).startswith(("ruou", "nem", "cha", "gio")), first


def test_every_kind_a_need_offers_first_names_a_demo_product_serving_it() -> None:
    import json

    from catalog.uses import use_tags

    products = json.loads(DEMO.read_text(encoding="utf-8"))["products"]
    for tag in use_tags():
        for kind in tag.first:
            assert any(
                fold(p["name_vi"]).startswith(fold(kind)) and tag.code in p["uses"] for p in products
            ), (tag.code, kind)


def test_a_name_after_nguoi_typed_plain_is_a_nationality(demo: SearchIndex) -> None:
    # "nguoi Duc" is a German (người Đức), typed plain: no product of Hợp Đức's, but the gifts asked for.
    answer = demo.search("muon tang qua cho co giao nguoi Duc cua con, co y tuong gi khong")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results), names(answer)


def test_a_producers_word_beside_another_place_does_not_turn_a_need_into_its_goods(demo: SearchIndex) -> None:
    # "thân" is only in HTX Thân Trường's name: "bạn thân ở Phan Thiết" is a friend there, not its goods.
    answer = demo.search("tháng sau ăn hỏi cô bạn thân ở Phan Thiết, nên mang gì đi làm quà")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results), names(answer)


def test_the_mid_autumn_festival_names_its_cakes(demo: SearchIndex) -> None:
    for query in ("công ty cần đặt quà Tết Trung thu cho khách", "mid-autumn festival treats for the kids"):
        assert names(demo.search(query))[:1] == ["Bánh nướng, bánh dẻo Cô Tiên Huyền Bakery"], query


def test_a_class_of_products_inside_a_need_phrase_comes_first(demo: SearchIndex) -> None:
    # The five-fruit tray of Tết asks for fruit among the Tết products: the pomelo before the bánh chưng.
    first = names(demo.search("năm nay tự bày mâm ngũ quả, cần mua những gì"))[0]
    assert fold(first).startswith("buoi"), first


def test_another_places_name_after_a_product_and_its_unlisted_words_is_their_origin(demo: SearchIndex) -> None:
    # "thịt dê núi hun khói Ninh Bình": the words nobody listed carry the product word up to the name; a need in
    # the next clause does not make the place's meat ours.
    assert names(demo.search("có bán thịt dê núi hun khói Ninh Bình không, để nhậu cuối tuần")) == []


def test_a_need_word_typed_plain_is_that_need_where_the_message_names_it(demo: SearchIndex) -> None:
    # "bieu … it qua": quà (a gift) beside biếu, not quả (fruit): the gifts, not the fruit.
    answer = demo.search("sap ve que, muon bieu thay giao cu it qua, thay song mot minh")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results), names(answer)
    assert "qua" not in answer.terms.split()


def test_the_end_of_a_span_of_time_typed_plain_is_no_wedding(demo: SearchIndex) -> None:
    # "cuoi nam" is cuối năm (the year's end), not cưới (a wedding): the gifts, not wedding wine only.
    answer = demo.search("cuoi nam muon bieu doi tac it qua, nen chon gi cho lich su")
    assert answer.filters.get("use") == "gift", answer.filters


def test_a_place_one_travels_to_is_no_origin_of_the_goods(demo: SearchIndex) -> None:
    # "đi phượt Mộc Châu": where the trip goes, so the snacks asked for are ours to offer.
    answer = demo.search("tuần sau đi phượt Mộc Châu, cần ít đồ ăn vặt mang theo")
    assert answer.results and all(fold(n).startswith("snack") for n in names(answer)), names(answer)


def test_a_diet_beside_other_needs_keeps_a_short_selection_and_the_diet(demo: SearchIndex) -> None:
    # Few products serve a gift, a pagoda and a vegetarian together: those serving two of them join the one
    # serving all three, and every one keeps the diet.
    answer = demo.search("sắp lễ chùa, muốn biếu sư thầy ít quà, thầy ăn chay")
    assert len(answer.results) >= 3, names(answer)
    assert all("vegetarian" in h.doc.uses for h in answer.results), names(answer)


def test_a_need_of_the_body_outweighs_the_occasion_beside_it(demo: SearchIndex) -> None:
    # A liver problem after the party season asks for the liver product, not for the party's wine.
    answer = demo.search("my boss says his liver tests came back bad after the year end party season, anything that helps")
    assert answer.results and all("liver" in h.doc.uses for h in answer.results), names(answer)


def test_a_need_phrase_typed_plain_is_read_as_the_lexicon_writes_it(demo: SearchIndex) -> None:
    # "dau lung" is đau lưng (back pain): its "dau" names no dầu (oil) to put first.
    parsed = demo.parser.parse("ba em hay dau lung, co gi ho tro khong")
    assert parsed.uses == ["joints"] and parsed.use_products == []


def test_a_name_after_ve_typed_plain_is_where_goods_sent_go(demo: SearchIndex) -> None:
    # "gui … ve Tan Phu Trung": về, typed plain, after a verb of sending: the whole name is the destination.
    answer = demo.search("gui 2 hop mat ong ve Tan Phu Trung cho me duoc khong shop")
    assert answer.results and all(fold(n).startswith("mat ong") for n in names(answer)), names(answer)
    assert "delivery" in answer.asks


def test_how_long_is_a_question_not_a_product_word(demo: SearchIndex) -> None:
    # "bao lâu" asks how long; its "bao" is no word of the product named in full.
    parsed = demo.parser.parse("cao ngua bach phong van dung bao lau thi thay hieu qua")
    assert "bao" not in [u.text for u in parsed.units if u.role == "content"]
    assert names(demo.search("cao ngua bach phong van dung bao lau thi thay hieu qua"))[:1] == [
        "Cao ngựa bạch Phong Vân"
    ]


def test_who_the_buyer_is_is_no_origin_of_the_goods(demo: SearchIndex) -> None:
    # "I'm German-Vietnamese": the buyer, not German sesame oil.
    answer = demo.search("I'm German-Vietnamese and my mum used to cook with your sesame oil, where do I buy it")
    assert answer.results and all("sesame oil" in h.doc.name_en.lower() for h in answer.results), names(answer)


def test_paying_by_visa_card_is_a_price_question_not_a_visa_service(demo: SearchIndex) -> None:
    answer = demo.search("do you take visa card? I'd like a bottle of the Van Huong earth-aged rice wine")
    assert answer.results and "service" not in answer.asks and "price" in answer.asks, names(answer)


def test_how_many_days_after_a_place_sent_to_is_chat(demo: SearchIndex) -> None:
    # "gửi Cần Thơ mất mấy ngày": Cần Thơ is where the honey goes.
    answer = demo.search("đặt 3 hũ mật ong Yên Mỹ, gửi Cần Thơ mất mấy ngày")
    assert names(answer)[:1] == ["Mật ong Yên Mỹ"], names(answer)


def test_chat_shorthand_for_khong_negates_like_khong(demo: SearchIndex) -> None:
    # "hok lấy đồ ăn": no food, so the group left is the one asked for.
    answer = demo.search("shop có đồ thủ công không, hok lấy đồ ăn đâu nha")
    assert answer.results and {h.doc.category for h in answer.results} == {"handicraft"}, names(answer)


@pytest.mark.parametrize(
    "query",
    [
        "anh tài xế chạy đêm suốt, muốn tìm thứ gì pha uống cho đỡ buồn ngủ",
        "any local drink to stay awake during a night shift instead of coffee?",
    ],
)
def test_staying_awake_is_answered_with_tea_from_the_tea_plant(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results and all("awake" in h.doc.uses for h in answer.results), names(answer)
    assert all(not h.doc.name_vi.startswith("Rượu") for h in answer.results)


def test_a_place_after_a_catalogue_place_is_the_other_end_of_a_route(demo: SearchIndex) -> None:
    # "tuyến Bắc Giang - Quảng Ninh": where the lorry goes, not Quảng Ninh's snacks.
    answer = demo.search("tôi chạy xe tải tuyến Bắc Giang - Quảng Ninh, muốn mua ít đồ ăn vặt để trên xe")
    assert answer.results and all(fold(n).startswith("snack") for n in names(answer)), names(answer)


def test_a_word_typed_without_a_letter_mark_in_a_message_with_marks_is_that_word(demo: SearchIndex) -> None:
    # In a long message typed with marks, "xe" (a vehicle) is no "xê" of bánh xu xê.
    parsed = demo.parser.parse("Anh ấy lái xe khách cả tuần, tôi muốn mua ít đồ ăn khô cho anh ấy mang theo")
    assert all(u.stray for u in parsed.units if u.text == "xe")


@pytest.mark.parametrize(
    "query",
    ["khách sạn bên mình cần đặt mỳ gạo Chũ cho bữa sáng", "our hotel would like your rice noodles from Chu for breakfast"],
)
def test_a_business_said_to_be_the_buyers_is_who_buys_not_what(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results and all(fold(n).startswith(("my", "mi")) for n in names(answer)[:3]), names(answer)


def test_a_telex_tone_key_left_after_a_marked_word_is_dropped(demo: SearchIndex) -> None:
    # "vàngf": the keyboard marked the word, and the tone key stayed.
    assert demo.parser.parse("gạo nếp cái hoa vàngf bao nhiêu một yến").keys[4] == "vang"
    answer = demo.search("gạo nếp cái hoa vàngf bao nhiêu một yến, nhà cần gói bánh")
    assert names(answer)[:1] == ["Gạo nếp cái hoa vàng Thái Sơn"], names(answer)


def test_english_function_words_in_an_english_message_are_not_product_words(demo: SearchIndex) -> None:
    answer = demo.search("we tried your rice noodles at a friend's place and they were so good, where do I buy them")
    assert "so" not in answer.terms.split()
    assert answer.results and all(fold(n).startswith(("my", "mi")) for n in names(answer)), names(answer)


def test_no_before_a_product_word_rules_it_out_in_english(demo: SearchIndex) -> None:
    answer = demo.search("gift ideas for my team back home in Canada please, no wine and no meat")
    assert answer.results and answer.filters.get("use") == "gift", names(answer)
    assert not any(fold(n).startswith(("ruou", "thit")) for n in names(answer)), names(answer)
    # Typed plain in Vietnamese, "no" may be nó (it): nothing is ruled out.
    assert not demo.parser.parse("no thich mat ong lam, mua cho no 2 hu").excluded


def test_a_product_of_the_kind_named_comes_before_one_the_word_describes(demo: SearchIndex) -> None:
    # "gà đồi" names the chicken: Gà đồi before Giò gà (rolls made of it), in a long message too.
    answer = demo.search("cưới con gái tuần sau, cần đặt gà đồi nguyên con bao nhiêu một cân")
    assert names(answer)[0] == "Gà đồi Yên Thế", names(answer)


@pytest.mark.parametrize("query", ["silk scarves for Valentine, do you have any?", "Christmas ornaments for the office"])
def test_a_thing_nobody_listed_beside_a_gift_occasion_is_what_is_asked(demo: SearchIndex, query: str) -> None:
    # The occasion says when; the scarves and ornaments are what the buyer wants, and the catalogue has none.
    assert demo.search(query).results == [], query
    assert demo.search("Christmas presents for my team at work").results  # the gift itself is still asked


def test_an_unknown_vietnamese_word_right_before_an_occasion_is_the_thing_asked(demo: SearchIndex) -> None:
    # Vietnamese names the goods first and their occasion after: "mứt gừng Tết" is candied ginger for Tết.
    assert demo.search("mứt gừng Tết còn không shop").results == []
    assert demo.search("mùng 8/3 tặng mẹ gì").results  # a date word before it is no goods


@pytest.mark.parametrize("query", ["đặt lẵng hoa mừng khai trương cho bạn", "bán cây đào chơi Tết không shop"])
def test_goods_people_buy_named_alone_are_what_is_asked_whatever_need_comes_with_them(
    demo: SearchIndex, query: str
) -> None:
    # Flowers and a peach tree share words with our goods (hoa: trà hoa cúc) and come with a need (an opening,
    # Tết), yet the catalogue has none of them: no product, not the need's selection.
    answer = demo.search(query)
    assert answer.results == [], (query, names(answer))
    # A product word of ours beside them is still asked for.
    assert demo.search("bó hoa với 1 hộp mật ong tặng mẹ").results


def test_another_countrys_adjective_before_a_product_word_is_where_the_goods_come_from(demo: SearchIndex) -> None:
    assert demo.search("Swiss honey in a jar").results == []
    assert demo.search("any Taiwanese oolong tea?").results == []
    assert demo.search("shop còn mật ong manuka ko").results == []  # after the goods in Vietnamese order
    # Anywhere else it is chat about people: the honey is still asked for.
    answer = demo.search("my Swiss neighbour adores honey, what do you have")
    assert answer.results and all("mat ong" in fold(n) for n in names(answer)), names(answer)


def test_an_ambiguous_chat_word_is_no_guess_beside_words_nobody_could_place(demo: SearchIndex) -> None:
    # "my" may be mỳ typed plain, but beside an unknown word it is the English possessive.
    assert demo.search("kombucha for my dad").results == []
    assert demo.search("my").results  # alone it is still read as mỳ


def test_a_kind_of_product_right_after_a_buying_verb_is_asked_beside_a_need(demo: SearchIndex) -> None:
    # No guava is tagged as a gift, yet "mua ổi" names what is bought: the guavas, not the gift selection.
    answer = demo.search("muốn mua ổi biếu bà nội được không ạ")
    assert answer.results and all(fold(n).startswith("oi ") for n in names(answer)), names(answer)


def test_an_english_words_vietnamese_translation_is_found_only_with_its_marks(demo: SearchIndex) -> None:
    # "mushroom" is nấm; the plain "nam" (south) of Sâm nam núi Dành is another word.
    assert not any("sam nam" in fold(n) for n in names(demo.search("dried mushroom")))
    assert all("nam" in fold(n) for n in names(demo.search("mushrooms please")))


def test_a_gift_to_carry_on_a_plane_leaves_the_liquids_out(demo: SearchIndex) -> None:
    answer = demo.search("mua ít quà cho bạn bè bên Pháp, em xách tay lên máy bay")
    assert answer.results, names(answer)
    assert not any(fold(n).startswith(("mat ong", "ruou", "dau")) for n in names(answer)), names(answer)
    # Softly: honey named is still honey.
    assert all(fold(n).startswith("mat ong") for n in names(demo.search("mật ong có mang lên máy bay được không")))


def test_hot_in_vietnamese_chat_is_popular_not_spicy(demo: SearchIndex) -> None:
    answer = demo.search("sp nào đang hot nhất ở Lục Ngạn vậy shop")
    assert answer.results and answer.filters.get("district") == "Lục Ngạn", names(answer)
    assert not any("sot cay" in fold(n) for n in names(demo.search("có món gì đang hot không ad")))
    assert demo.search("hot sauce").results == []  # in English it stays a taste: no OCOP hot sauce


def test_a_word_typed_with_its_tone_names_only_the_concepts_spelt_with_that_tone(demo: SearchIndex) -> None:
    # "dừa" is coconut: the lexicon's dưa (melon) and dứa (pineapple) fold the same, but their tones differ.
    assert demo.search("dừa tươi").results == []
    assert demo.search("dưa kim").results and demo.search("dua kim").results  # typed plain, any of them


def test_the_words_of_the_old_districts_and_stuff_are_chat_beside_a_filter(demo: SearchIndex) -> None:
    answer = demo.search("ở huyện cũ Lục Nam có đồ uống gì không")
    assert answer.results and answer.filters.get("district") == "Lục Nam", names(answer)
    answer = demo.search("4 star food of Yen The, not the commune")  # "not the": an article, not Yên Thế
    assert answer.results and all(h.doc.district == "Yên Thế" for h in answer.results), names(answer)


def test_a_modal_between_the_negation_and_the_verb_still_negates(demo: SearchIndex) -> None:
    answer = demo.search("ông không thể uống rượu nữa, biếu gì")
    assert answer.results and not any(fold(n).startswith("ruou") for n in names(answer)), names(answer)


def test_a_destination_cue_typed_with_other_marks_is_another_word(demo: SearchIndex) -> None:
    # "hoa ban" is a flower: the honey of Sơn La's ban flowers is another province's, not a friend in Sơn La.
    assert demo.search("mật ong hoa ban Sơn La nguyên chất").results == []
    assert demo.search("gửi bạn ở Sơn La ít mật ong").results  # a friend there: the honey is ours


@pytest.mark.parametrize("query", ["còn nồi cơm điện loại nhỏ không shop", "an air fryer for my mum"])
def test_kitchen_appliances_are_goods_the_catalogue_lacks(demo: SearchIndex, query: str) -> None:
    # "cơm" and "fry" are words of our products and of cooking, yet an appliance is what is asked for.
    assert demo.search(query).results == [], names(demo.search(query))


@pytest.mark.parametrize(
    "query",
    [
        "nhà mình cần 5kg măng cụt",  # mangosteen: no bamboo shoot ("măng")
        "có nấm hương khô không",  # shiitake: no straw mushroom ("nấm") nor incense ("hương")
        "cho em hỏi chả cá có không",  # fish cake: no chicken or pork chả
        "bun bo co ship khong",  # typed plain, the dish is still a word of its own
    ],
)
def test_a_word_of_the_language_that_begins_with_a_kind_names_another_thing(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == [], names(demo.search(query))


def test_the_dictionary_word_is_read_only_where_it_stands_whole(demo: SearchIndex) -> None:
    assert demo.search("măng tươi").results  # bamboo shoots, fresh: no dictionary word
    assert demo.search("măng lục trúc").results  # the product's own words stand side by side
    # A comma splits "gà, giò": two of our kinds, not the dictionary's "gà giò" (a young chicken).
    answer = demo.search("cần mua gà, giò cho cỗ")
    assert answer.results, names(answer)
    # "uống rượu bia" beside a need is a habit told, not the goods asked for.
    answer = demo.search("chồng em uống rượu bia nhiều, có gì mát gan không")
    assert answer.results and not any(fold(n).startswith("ruou") for n in names(answer)), names(answer)


def test_the_word_list_is_installed() -> None:
    # underthesea ships the dictionary the compounds come from: without it they would silently go unrecognised.
    from catalog.search.compounds import dictionary_path, dictionary_words, is_spoken, spoken_words
    from catalog.text import accent_key

    assert dictionary_path() is not None
    words = dict(dictionary_words())
    assert words["măng cụt"] == ("mang", "cut") and words["bánh cuốn"] == ("banh", "cuon")
    # And as the numbers words are looked up by: folded, or spelt with marks, but not with other marks.
    spoken = spoken_words()
    assert len(spoken) > 90_000 and list(spoken) == sorted(set(spoken))
    assert is_spoken(spoken, "oc van") and is_spoken(spoken, " ".join(accent_key(w) for w in ("ốc", "vặn")))
    assert not is_spoken(spoken, " ".join(accent_key(w) for w in ("ốc", "vân")))
    assert not is_spoken(spoken, "oc van bac")


@pytest.mark.parametrize(
    "query",
    [
        "chị ơi bên mình có bán rượu sim không ạ",  # myrtle wine: the unknown word names another wine
        "e cần sll trà sen cho quán, ib giá sỉ nhé",  # lotus tea
        "có bán thịt trâu gác bếp không shop",  # smoked buffalo: the unknown words go on after "trâu"
        "shop ơi có trà atiso không ạ",  # a foreign-looking word after a kind names it too: artichoke tea
        "ruou soju co khong shop",  # and soju, typed plain
    ],
)
def test_an_unknown_word_after_a_kind_amid_known_chat_names_another_product(demo: SearchIndex, query: str) -> None:
    # The chat around it is known: the unknown word is one of the few words asked, not one of many.
    assert demo.search(query).results == [], names(demo.search(query))


def test_an_unknown_word_elsewhere_in_known_chat_still_does_not_veto(demo: SearchIndex) -> None:
    assert demo.search("mẹ mình thích ổi lắm, bên bạn có bán không").results  # before the kind: chat
    # After a name, a foreign-looking word is shorthand or code-switching: "HH" is Hiệp Hòa, "gluten" a question.
    assert demo.search("a ơi đt chỗ bán trám đen muối HH là j v").results
    assert demo.search("is mỳ Châu Sơn gluten free? con mình bị celiac nên phải check kỹ").results
    assert demo.search("mỳ chũ combo 5 gói bao nhiêu").results  # beside a phrase of two words it weighs less
    assert demo.search("có mỳ gạo nào không chất bảo quản không ạ").results  # "bảo quản": a word of its own


@pytest.mark.parametrize(
    "query",
    [
        "năm nay tính mua lạp xưởng làm quà cho bố vợ",  # goods nobody listed, named as what is bought
        "em muốn mua ít mắm tôm làm quà cho mẹ chồng",  # two catalogue words no product has together
    ],
)
def test_goods_named_after_a_buying_verb_are_asked_even_beside_a_gift(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == [], names(demo.search(query))


@pytest.mark.parametrize(
    "query",
    [
        "em muốn mua ít đồ làm quà cho mẹ chồng",  # things: no goods named
        "đi thăm bà, khỏi mua sữa, nên mang quà gì",  # no need to buy it: not what is asked
    ],
)
def test_what_a_buying_verb_names_no_goods_of_leaves_the_gift(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results, query


def test_a_dictionary_word_joining_two_of_our_kinds_is_no_other_goods(demo: SearchIndex) -> None:
    assert demo.search("chị ơi có dầu dừa nguyên chất không").results == []  # coconut: dừa is no dưa (melon)
    answer = demo.search("sang nhà gái cần mâm bánh trái, rượu chè gì không")  # cakes and fruit, drinks
    assert answer.results, answer.query


def test_an_old_district_of_another_province_written_as_a_name_is_elsewhere(demo: SearchIndex) -> None:
    # No lexicon line names Cao Phong (Hòa Bình) or Bình Liêu (Quảng Ninh): the administrative units do.
    assert demo.search("shop có cam Cao Phong không, mình lấy 5kg").results == []
    assert demo.search("mình cần miến dong Bình Liêu loại ngon").results == []
    # Typed plain or with other marks, the same letters are other words: "cái nước" is the drink, no Cái Nước.
    assert demo.search("cai nuoc long nhan order 1 thung duoc khong").results


def test_a_lone_catalogue_word_naming_no_kind_is_chat_beside_a_need(demo: SearchIndex) -> None:
    # "sớm" (early) is in Vải sớm's name, but here it is when the family gets home: the offerings are the question.
    answer = demo.search("Tết này nhà em được nghỉ sớm, muốn sắm ít đồ cúng cho ông bà, gợi ý giúp em với")
    assert answer.results and "vai-som-phuc-hoa" not in slugs(answer), names(answer)
    assert answer.filters.get("use") == ["tet", "offering"]
    # Beside its kind word it is the product asked for.
    assert names(demo.search("Tết này muốn mua vải sớm làm quà cho sếp"))[:1] == ["Vải sớm Phúc Hòa"]


@pytest.mark.parametrize(
    "query",
    [
        "bên mình có kem trị nếp nhăn không",  # a wrinkle: no Gạo nếp
        "tìm cúc vạn thọ trồng Tết",  # marigolds to plant: no chrysanthemum tea
    ],
)
def test_a_word_of_the_language_that_begins_with_a_word_inside_a_name_names_another_thing(
    demo: SearchIndex, query: str
) -> None:
    assert demo.search(query).results == [], names(demo.search(query))


def test_a_word_inside_a_name_after_its_product_word_still_describes_the_product(demo: SearchIndex) -> None:
    # "rừng già" (old forest) and "tươi rói" (very fresh) are words of the language, but here say which honey, which
    # lychees; typed plain the syllables are too often other words to be read as such a word at all.
    assert names(demo.search("mật ong rừng già có không shop"))[:1] == ["Mật ong rừng Sơn Động"]
    assert names(demo.search("vải tươi rói mới hái, bán sao ạ", gated=False))[0].startswith("Vải")
    # (Near the answer gate's threshold: shown as the answer or as the closest products, lychees either way.)
    answer = demo.search("vải tươi rói mới hái, bán sao ạ")
    assert (answer.results or answer.suggestions)[0].doc.name_vi.startswith("Vải")
    assert demo.search("ad oi thit lon con hang ko a").results  # thịt lợn còn hàng, no lợn con


def test_a_syllable_of_another_word_of_the_language_is_no_producers_name(demo: SearchIndex) -> None:
    # "hóa đơn" (an invoice) holds Phúc Hòa's syllable, "công trường" (a building site) Trường Thọ's: written with
    # their marks they are words of the chat, and the need is the question.
    answer = demo.search("cửa hàng bên mình có xuất hóa đơn đỏ không, công ty mình cần lấy 20 phần quà Tết")
    assert "vai-som-phuc-hoa" not in slugs(answer) and answer.filters.get("use") == ["gift", "tet"], names(answer)
    answer = demo.search("anh em công trường cần mua ít đồ nhậu cuối tuần")
    assert answer.filters.get("use") == "party" and not any("Trường" in n for n in names(answer)), names(answer)
    # "hóa trị" (chemotherapy) is no flower: nothing to answer with.
    assert demo.search("mẹ em mới hóa trị xong, nên ăn gì cho lại sức").results == []
    # The producer named as a name is still the producer, beside the same words.
    assert names(demo.search("rượu nếp Bảo Sơn bảo quản được bao lâu"))[:1] == ["Rượu nếp cái hoa vàng Bảo Sơn"]


@pytest.mark.parametrize(
    "query",
    [
        "cho hỏi lịch xe buýt từ thành phố đi Yên Thế mấy giờ có chuyến",  # a bus timetable, not Yên Thế's products
        "tìm gia sư dạy kèm toán cho con ở Việt Yên",  # a tutor
        "tối nay muốn đặt bàn ăn món gà đồi ở Lục Ngạn, chỗ nào ngon",  # a table at a restaurant, not the chicken
    ],
)
def test_a_service_asked_for_beside_a_place_is_no_product(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results == [] and "service" in answer.asks, names(answer)


def test_which_shop_sells_a_product_is_no_service(demo: SearchIndex) -> None:
    assert names(demo.search("quán nào bán mỳ Chũ ở thành phố"))[:1] == ["Mỳ gạo Chũ Xuân Trường"]


def test_beside_a_need_and_a_kind_a_lone_catalogue_word_only_counts_where_found(demo: SearchIndex) -> None:
    # "độc" (in "độc đáo", unusual) is a word of An Xoa giải độc gan's name; beside the snacks asked for and a gift,
    # it no longer vetoes them.
    answer = demo.search("con gái mình mê ăn vặt lắm, sinh nhật con muốn tặng gì đó độc lạ một chút")
    assert "snack-gao-joy-sot-cay-ngot" in slugs(answer)[:3], names(answer)


def test_a_negated_verb_of_looking_rules_out_what_follows(demo: SearchIndex) -> None:
    # "đừng gợi ý rượu": don't suggest wine; the gifts of Tân Yên are the answer, without wine.
    answer = demo.search("gợi ý quà ở Tân Yên, đừng gợi ý rượu")
    assert answer.results and not any(fold(n).startswith("ruou") for n in names(answer)), names(answer)
    assert answer.filters.get("district") == "Tân Yên"


@pytest.mark.parametrize(
    "query",
    [
        "chỗ nào bán giàn phơi để sấy vải thiều",
        "cần khay inox để hấp giò",
        "bán lưới che để trồng chè không",
        "nồi nấu bánh chưng bằng điện loại 100 lít mua ở đâu",
    ],
)
def test_a_thing_for_working_a_product_is_not_that_product(demo: SearchIndex, query: str) -> None:
    # A rack, a tray, a shade net, a boiler: the product word after the verb says what the thing is for.
    assert not demo.search(query).results


def test_the_product_worked_on_is_asked_for_when_no_thing_comes_first(demo: SearchIndex) -> None:
    # The buyer's own cooking, or our product before "để" (in order to), is no tool: the product is the answer.
    answer = demo.search("Tết này nhà em tự nấu bánh chưng hay mua bánh chưng Vân thì hơn")
    assert names(answer)[:1] == ["Bánh chưng Vân"]
    answer = demo.search("cần mua gạo nếp để nấu rượu")
    assert names(answer)[0].startswith("Gạo nếp")
    # Typed plain, one syllable is too often another word: "cho" is no chở (carry), "trong" no trồng (grow).
    assert demo.search("sale off cuoi tuan co ap dung cho ruou Diep Nhat ko ad").results


def test_a_place_alone_is_where_another_thing_is_wanted_unless_the_buyer_asks_what_it_has(demo: SearchIndex) -> None:
    # A tutor, a phone repairer: the district is where the buyer wants them, and its products are only a hint.
    answer = demo.search("tìm gia sư tiếng Anh cho con ở Hiệp Hòa")
    assert not answer.results and answer.suggestions
    assert all(h.doc.district == "Hiệp Hòa" for h in answer.suggestions)
    assert not demo.search("ai biết chỗ nào dạy bơi cho trẻ con ở Lục Ngạn, hè này cho cháu đi học").results
    # Asking what the place has, in as many words, still lists its products.
    answer = demo.search("hè này cho cháu về Lục Ngạn chơi, ở đó có đặc sản gì mua về được không")
    assert answer.results and all(h.doc.district == "Lục Ngạn" for h in answer.results)


def test_a_long_message_names_a_product_by_its_first_words_and_its_last_two(demo: SearchIndex) -> None:
    # People drop the middle of a name ("sạch", "Lục Ngạn", "giải độc gan"): the product is still the one meant,
    # even amid words of other products' names and a foreign customer ("khách Hàn").
    answer = demo.search("khách Hàn bên em hỏi bún tươi Thắng Thủy để được mấy ngày ngoài trời, em trả lời sao")
    assert names(answer)[:1] == ["Bún tươi sạch Thắng Thủy"]
    answer = demo.search("chị đồng nghiệp dặn mua hộ 3 hộp An Xoa Khánh Hoa, gửi về cơ quan ở Bắc Ninh được không")
    assert names(answer)[:1] == ["An Xoa giải độc gan Khánh Hoa"]


def test_two_products_named_apart_in_a_long_message_are_both_answers(demo: SearchIndex) -> None:
    answer = demo.search("phân vân giữa mật ong Tân Hưng với mật ong Yên Mỹ, loại nào đặc hơn vậy shop")
    assert {"Mật ong Tân Hưng", "Mật ong Yên Mỹ"} <= set(names(answer)[:2])


def test_other_goods_describe_no_product_word_across_a_comma(demo: SearchIndex) -> None:
    # "dưa hấu" (watermelon, goods we lack) ends its clause; the melon asked for comes after the comma.
    answer = demo.search("lúc nãy gõ nhầm thành dưa hấu, ý mình là dưa kim Hoàng Hậu Yên Dũng còn hàng không")
    assert names(answer)[:1] == ["Dưa kim Hoàng Hậu Yên Dũng"]


def test_a_product_group_after_khong_is_ruled_out_but_khong_after_it_asks(demo: SearchIndex) -> None:
    answer = demo.search("em chỉ muốn xem thảo dược thôi, không đồ ăn nhé")
    assert answer.filters.get("category") == "herbal"
    assert all(h.doc.category == "herbal" for h in answer.results)
    # After the group "không" asks a question: the group is what is asked for.
    answer = demo.search("bên mình có đồ uống không")
    assert answer.filters.get("category") == "beverage"


def test_words_typed_together_with_their_marks_are_read_apart(demo: SearchIndex) -> None:
    # Hashtags run words together; their marks still tell the words. One misspelt syllable stays one word.
    answer = demo.search("#quàtết #biếusếp")
    assert answer.results and all("gift" in h.doc.uses for h in answer.results)
    assert names(demo.search("rượi nếp"))[0].startswith("Rượu nếp")


def test_no_before_a_word_no_vietnamese_syllable_spells_rules_it_out(demo: SearchIndex) -> None:
    # "no" typed plain is also nó (it); before "meat" or "pork" it can only be English.
    answer = demo.search("cooking dinner for my vegan sister tonight, no meat no egg, what can I buy here")
    assert answer.results and not any(h.doc.name_vi.startswith(("Thịt", "Giò", "Chả", "Gà")) for h in answer.results)


def test_avoiding_a_product_rules_it_out(demo: SearchIndex) -> None:
    answer = demo.search("a small thank-you gift for my neighbour, he avoids alcohol since his surgery")
    assert answer.results and not any(h.doc.name_vi.startswith("Rượu") for h in answer.results)
    answer = demo.search("quà cho bác hàng xóm, bác phải tránh rượu")
    assert answer.results and not any(h.doc.name_vi.startswith("Rượu") for h in answer.results)


def test_a_product_phrase_overlapping_a_groups_words_is_read_whole(demo: SearchIndex) -> None:
    # "món ăn vặt": the snack phrase, not the food group followed by an unknown "vặt".
    answer = demo.search("lớp con mình liên hoan, mỗi nhà góp một món ăn vặt")
    assert answer.results and answer.results[0].doc.name_vi.startswith("Snack")


def test_a_kind_the_product_lacks_heads_the_words_it_has(demo: SearchIndex) -> None:
    # Tea of brown rice is not the brown-rice noodles: the kind comes first in Vietnamese, last in English.
    for message in ("có trà gạo lứt không shop ơi, lấy 3 hộp nhé", "brown rice tea for my mum, do you have it?"):
        assert not demo.search(message).results, message
    assert names(demo.search("mỳ gạo lứt Hiền Phước còn hàng không shop"))[:1] == ["Mỳ gạo Chũ Hiền Phước"]


def test_goods_bought_as_a_gift_are_read_with_their_marks(demo: SearchIndex) -> None:
    # "sá sùng", "nón" folded are function words ("sa", "non"), typed with marks they are goods we lack.
    for message in ("chị muốn mua sá sùng làm quà biếu sếp dịp Tết", "em cần mua nón lá làm quà cho cô giáo"):
        assert not demo.search(message).results, message
    # "mùa" (season) is no "mua" (buy): summer is no goods bought, the dry food for the retreat is the question.
    answer = demo.search("Chùa có khóa tu mùa hè, ăn chay, ban bếp cần mua đồ khô nấu ăn, bên mình có gì")
    assert answer.results and all("vegetarian" in h.doc.uses for h in answer.results[:3])


@pytest.mark.parametrize(
    "query",
    [
        "cả nhà đi dã ngoại ở hồ, cần đồ ăn mang theo không phải nấu",
        "food for a two-day hike that needs no cooking",
    ],
)
def test_food_to_take_along_is_answered_with_what_is_eaten_as_it_is(demo: SearchIndex, query: str) -> None:
    # Not the noodles that keep for a trip: they must be cooked first.
    answer = demo.search(query)
    assert answer.results and all("ready" in h.doc.uses for h in answer.results[:3]), names(answer)
    # Named noodles are still the answer beside such a need.
    answer = demo.search("looking for rice noodles for my packed lunches this week")
    assert answer.results and all("mỳ" in h.doc.name_vi.lower() or "mì" in h.doc.name_vi.lower() for h in answer.results[:3])


def test_a_product_somebody_likes_is_the_answer(demo: SearchIndex) -> None:
    answer = demo.search("hoi qua tang chu hang xom moi chuyen den, chu rat thich uong ruou")
    assert answer.results and all(h.doc.name_vi.startswith("Rượu") for h in answer.results[:3])
    # Two people, two likings: both are answers, taking turns.
    answer = demo.search("bố cô ấy thích uống rượu còn mẹ thì mê trà, lần đầu đến chơi nên mua gì")
    firsts = names(answer)[:2]
    assert any(n.startswith("Rượu") for n in firsts) and any(n.startswith(("Trà", "Chè")) for n in firsts), firsts
    # More words after the product say which one, and we lack it: still nothing.
    assert not demo.search("mẹ mình thích rượu sim lắm, bên bạn có bán không").results


def test_tools_and_packing_for_a_product_are_other_goods(demo: SearchIndex) -> None:
    for message in (
        "shop có bán máy hút chân không để đóng gói mật ong không",
        "cần 10 thùng xốp để đựng vải thiều đi xa",
        "cần mua chai thủy tinh 500 ml loại to để đựng rượu nếp",
        "looking for a lychee peeler for my restaurant",
    ):
        assert not demo.search(message).results, message
    # The product itself, in a jar or to cook, is still the answer.
    assert names(demo.search("a jar of honey for my mum please"))[0].startswith("Mật ong")
    assert names(demo.search("mua nấm rơm để xào với thịt bò"))[:1] == ["Nấm rơm Đông Thịnh"]


def test_an_occasion_after_truoc_is_a_delivery_date_not_the_need(demo: SearchIndex) -> None:
    assert "tet" not in demo.parser.parse("ship giup 3 chai ruou truoc tet nhe").uses
    assert "tet" not in demo.parser.parse("deliver two boxes of tea before Tet please").uses
    assert "tet" in demo.parser.parse("mua gì biếu sếp dịp Tết").uses


def test_a_word_after_an_amount_and_its_unit_is_the_goods(demo: SearchIndex) -> None:
    # "oi" typed plain is "ơi" (hey) as often as ổi (guava); after "2 kg" it is the guava.
    answer = demo.search("cho minh lay 2 kg oi Tan Yen nhe shop")
    assert answer.results and all(h.doc.name_vi.startswith("Ổi") for h in answer.results)


def test_going_to_a_place_the_catalogue_lists_as_a_visit_asks_for_the_visit(demo: SearchIndex) -> None:
    assert names(demo.search("cả nhà muốn đi Bầu Tiên cuối tuần, vé bao nhiêu"))[:1] == [
        "Điểm du lịch sinh thái Bầu Tiên"
    ]


def test_a_product_named_in_full_comes_before_those_sharing_more_of_the_words(demo: SearchIndex) -> None:
    # The rolls of herbal-fed pork have "heo thảo dược Bình Minh"; the pork itself is named word for word.
    answer = demo.search("nghe đồn thịt lợn Bình Minh được nuôi bằng thảo dược, có thật không shop")
    assert names(answer)[:1] == ["Thịt lợn Bình Minh"]


def test_vs_joins_two_products_compared(demo: SearchIndex) -> None:
    answer = demo.search("mỳ Châu Sơn vs Trại Lâm, loại nào dai hơn khi nấu lẩu")
    assert {"Mỳ Châu Sơn", "Mỳ Trại Lâm"} <= set(names(answer)[:2]), names(answer)


def test_asking_what_a_place_has_amid_chat_lists_it(demo: SearchIndex) -> None:
    answer = demo.search("Lục Nam có sản phẩm OCOP nào không, tuần sau tui ghé thăm bà con ở Bảo Đài rồi mua luôn")
    assert answer.results and all(h.doc.district == "Lục Nam" for h in answer.results)
    # A store ("cửa hàng") is no question about the goods.
    assert not demo.search("Cửa hàng điện máy ở Lục Nam mở cửa đến mấy giờ tối").results


@pytest.mark.parametrize(
    "message",
    ["có bán kẹo lạc không shop, lấy 2 hộp làm quà Tết", "do you sell maple syrup? a gift for my Canadian boss"],
)
def test_goods_sold_or_ordered_beside_a_gift_are_what_is_asked(demo: SearchIndex, message: str) -> None:
    # "có bán", "do you sell", "đặt", "lấy" name the goods as "mua" does: goods we lack, whatever the gift.
    assert not demo.search(message).results


def test_ordering_in_advance_names_no_goods(demo: SearchIndex) -> None:
    answer = demo.search("nhà có giỗ, phải đặt trước mấy ngày, mình lấy 3 con gà đồi")
    assert names(answer)[:1] == ["Gà đồi Yên Thế"]


@pytest.mark.parametrize(
    "message", ["cần 30 phần quà nhỏ tặng khách dự hội thảo, mỗi phần tầm 50 nghìn", "cheap little gifts for 20 guests"]
)
def test_a_small_gift_for_many_offers_snacks_cakes_tea_and_noodles_first(demo: SearchIndex, message: str) -> None:
    answer = demo.search(message)
    firsts = [h.doc.name_vi.split()[0] for h in answer.results[:3]]
    assert firsts and set(firsts) <= {"Snack", "Bánh", "Chè", "Trà", "Mỳ", "Mì"}, names(answer)
    # Not for a plain gift, and not for "we're" typed plain.
    assert names(demo.search("we're buying a present for our boss"))[0].startswith("Mật ong")


def test_packing_words_beside_a_product_named_in_full_are_about_it(demo: SearchIndex) -> None:
    assert names(demo.search("mật ong Tân Hưng có loại hũ thủy tinh không shop"))[:1] == ["Mật ong Tân Hưng"]
    assert not demo.search("cần mua hũ thủy tinh để đựng mật ong").results
    # The fee of sending is no thing sent: the cakes are asked about.
    assert names(demo.search("phí gửi 2 hộp bánh khảo Tiến Lợi ra Hà Nội bao nhiêu"))[:1] == ["Bánh khảo Tiến Lợi"]


def test_other_goods_beside_a_product_named_in_full_leave_it_the_answer(demo: SearchIndex) -> None:
    assert names(demo.search("chả gà Yên Thế cho vào nồi chiên không dầu được không"))[:1] == ["Chả gà Yên Thế"]
    assert names(demo.search("giò lụa Thao Thanh để trong hộp nhựa được mấy ngày"))[:1] == ["Giò lụa Thao Thanh"]
    # Goods we lack with their origin, sought beside a need, are still what is asked for.
    assert not demo.search("anh nhờ tìm ghẹ Hải Phòng cho buổi liên hoan tối mai").results


def test_cold_cuts_come_first_for_food_eaten_as_it_is_and_dry_food_is_a_need_too(demo: SearchIndex) -> None:
    answer = demo.search("khách đến bất ngờ, cần vài món nguội bày ra đĩa ăn ngay")
    assert names(answer)[0].startswith(("Giò", "Chả")), names(answer)
    # "đồ ăn khô" names the food group and food that keeps: both.
    parsed = demo.parser.parse("mua ít đồ ăn khô mang đi đường xa")
    assert "food" in parsed.categories and "keeps" in parsed.uses


def test_goods_opening_a_gift_message_that_asks_if_they_are_sold_are_what_is_asked(demo: SearchIndex) -> None:
    assert not demo.search("Khăn lụa thêu tay làm quà cho cô giáo, có bán không").results
    assert names(demo.search("Mật ong rừng làm quà cho cô giáo, có bán không"))[:1] == ["Mật ong rừng Sơn Động"]


def test_a_word_said_twice_is_the_product_word_where_it_is_one_once(demo: SearchIndex) -> None:
    # "kiểm tra" (to inspect) has a "tra" nobody listed; "ấm trà" later names the tea.
    answer = demo.search("xã có đoàn kiểm tra về làm việc, cần ấm trà ngon để mời các đồng chí")
    assert answer.results and all(h.doc.name_vi.startswith(("Chè", "Trà")) for h in answer.results[:3]), names(answer)


def test_a_plain_word_in_a_message_written_with_marks_has_no_marks(demo: SearchIndex) -> None:
    # "đám tang" is a funeral; "tặng" (give) would carry its mark in a message typed with marks.
    assert "gift" not in demo.parser.parse("Nhà có đám tang, cần thuê rạp ở Lục Ngạn").uses
    assert "gift" in demo.parser.parse("nha minh muon tang qua cho co giao").uses


def test_a_product_ruled_out_by_a_bare_no_or_an_allergy_is_not_the_gift(demo: SearchIndex) -> None:
    # "không" before a product word rules it out (after it, it asks: "có rượu không").
    for query in ("quà cho ông ngoại mới ra viện, bác sĩ dặn không rượu", "a present for my aunt, nothing alcoholic"):
        answer = demo.search(query)
        assert answer.results and not any(h.doc.name_vi.startswith("Rượu") for h in answer.results), names(answer)
    assert names(demo.search("có rượu Vân Hương không shop"))[0].startswith("Rượu")
    parsed = demo.parser.parse("con mình bị dị ứng mật ong, muốn mua quà ăn vặt")
    assert any(e.target == ("mat", "ong") for e in parsed.excluded)


def test_what_is_free_of_is_not_asked_and_a_product_asked_apart_is_the_answer(demo: SearchIndex) -> None:
    assert names(demo.search("gluten free noodles pls"))[0].startswith("Mỳ")
    # Two products in two clauses: the one after "cần" is asked for, the other is what it is for.
    answer = demo.search("tối nay nấu lẩu gà đồi, cần măng lục trúc tươi")
    assert names(answer) == ["Măng lục trúc tươi Lâm sinh Ngọc Châu"], names(answer)  # the chicken is had
    # A cough or a sore throat is a need of health; a warm cup to make is a drink to brew.
    assert "health" in demo.parser.parse("bố bị viêm họng, nên mua gì cho bố").uses
    assert "brew" in demo.parser.parse("muốn pha một cốc gì đó uống tối cho ngon giấc").uses


@pytest.mark.parametrize(
    "query",
    [
        # paperwork, insurance and supplies for a product
        "thủ tục xin giấy chứng nhận cho cơ sở làm giò chả",
        "cần bảo hiểm cho trang trại gà đồi",
        "bán heo giống cho trại ở Yên Thế không",
        "in hộp giấy đựng mật ong có logo",
        # errands beside our places and words
        "công chứng giấy tờ ở thị trấn Chũ mất bao lâu",
        "tỷ giá đô hôm nay ở Bắc Giang",
        "áo len cho bé mùa đông có bán không",
        "mua cành đào chơi Tết ở Lục Ngạn",
        # places to go, information and medicine
        "quán ăn nào ở Lục Ngạn ngon, tối nay cả nhà đi ăn",
        "dự báo thời tiết Lục Nam cuối tuần",
        "có siro ho cho bé 3 tuổi không",
        "bài hát về gà đồi Yên Thế tên là gì",
    ],
)
def test_services_errands_and_other_goods_beside_our_words_are_no_product(demo: SearchIndex, query: str) -> None:
    assert not demo.search(query).results, names(demo.search(query))


def test_a_place_to_go_is_tourism_and_a_shop_buying_ours_stays_a_buyer(demo: SearchIndex) -> None:
    # A place to go in a district is its tourism; none there, nothing else instead.
    assert names(demo.search("yen the cuoi tuan di choi dau")) == ["Du lịch sinh thái, văn hóa bản Ven"]
    assert not demo.search("tân yên có chỗ đi chơi không").results
    # A shop that sells our products stays a buyer.
    assert demo.search("nhà thuốc muốn nhập cao đinh lăng về bán").results


def test_a_list_of_products_one_to_a_clause_answers_each(demo: SearchIndex) -> None:
    answer = demo.search("Good morning, for our shop we want: Hanh Thai noodles, Tien Loi cakes. Possible?")
    assert set(names(answer)) == {"Mỳ Hạnh Thái", "Bánh khảo Tiến Lợi"}, names(answer)


def test_goods_counted_at_the_start_of_a_need_are_what_is_asked(demo: SearchIndex) -> None:
    # Unknown goods counted right after ("3 bó", "2 cân") are the order, whatever need follows.
    assert not demo.search("rau muống 2 bó nấu canh cho cả nhà").results
    # Our own product counted so is still found; and a thank-you is a gift.
    assert names(demo.search("gà đồi loại to 2 con nấu giỗ"))[0] == "Gà đồi Yên Thế"
    assert "gift" in demo.parser.parse("muốn cảm ơn cô giáo bằng món gì nhỏ").uses


def test_a_pack_counted_is_no_product_and_a_kind_after_a_place_is_asked(demo: SearchIndex) -> None:
    # "lon" after a number is a can, not lợn (pork).
    assert names(demo.search("ngô ngọt 12 lon"))[:1] == ["Ngô ngọt nguyên hạt Vifoco"]
    answer = demo.search("Bắc Giang gà ngon không shop")
    assert answer.results and names(answer)[0].startswith(("Gà", "Giò gà", "Chả gà", "Xúc xích gà")), names(answer)


def test_a_rating_after_a_place_whose_name_folds_like_a_negation_still_counts(demo: SearchIndex) -> None:
    # "Dũng" folds to "dung", as "đừng" (don't) does: inside the place's name it negates nothing.
    assert demo.parser.parse("Yên Dũng 4 sao").stars == 4
    assert demo.parser.parse("ba sao thôi, đừng 4 sao").stars == 3


def test_another_province_s_district_written_as_a_name_or_with_its_marks_is_another_place(demo: SearchIndex) -> None:
    # Ba Chẽ (Quảng Ninh) has a word with no marks: written as a name, or with the marks it has, it is that district.
    assert not demo.search("mật ong Ba Chẽ còn không").results
    assert not demo.search("có mật ong ba chẽ không").results
    # Typed plain its words are other words ("cai nuoc" is cái nước, no Cái Nước).
    assert demo.search("mật ong rừng còn không").results


def test_a_district_named_by_its_landmark_is_that_district(demo: SearchIndex) -> None:
    # The land of Đề Thám is Yên Thế; the Vĩnh Nghiêm pagoda is in Yên Dũng.
    assert {p.value for p in demo.parser.parse("đặc sản vùng đất Đề Thám có gì").places} == {"Yên Thế"}
    answer = demo.search("gần chùa Vĩnh Nghiêm có đồ ăn OCOP nào")
    assert answer.results and all(h.doc.district == "Yên Dũng" for h in answer.results), names(answer)


@pytest.mark.parametrize(
    "query",
    [
        # a complaint, a licence, a rating, a support programme: matters for the department
        "mua phải mật ong pha đường ở chợ, tôi muốn khiếu nại",
        "xin giấy phép nấu rượu thủ công ở Việt Yên cần gì",
        "bao giờ có kết quả đánh giá OCOP của huyện Lục Ngạn năm nay",
        "hợp tác xã trồng vải có được hỗ trợ chi phí làm bao bì không",
        # the buyer is the seller
        "nhà tôi có 5 tạ vải thiều, bên bạn thu mua lại không",
        "I want to sell my harvest of guava through your shop",
        # a machine, whatever product it works on
        "máy đóng viên bánh khảo loại nhỏ giá bao nhiêu",
        "cần mua máy thái giò chả cho quán",
    ],
)
def test_matters_for_the_department_and_machines_beside_our_words_are_no_product(
    demo: SearchIndex, query: str
) -> None:
    assert not demo.search(query).results, names(demo.search(query))


def test_a_factory_a_motorbike_or_a_plane_is_no_machine_bought(demo: SearchIndex) -> None:
    assert demo.search("mang mật ong lên máy bay được không").results
    assert demo.search("căng tin nhà máy cần 200 gói mỳ gạo Chũ").results
    assert demo.search("chạy xe máy về Lục Ngạn mua vải thiều ở đâu").results


def test_a_brand_a_verb_of_buying_or_seeking_names_is_what_is_asked_not_the_need(demo: SearchIndex) -> None:
    # Goods nobody listed, written as a name right after "mua" or "looking for": a brand, not the party's food.
    assert not demo.search("mình muốn mua Heineken 10 thùng cho tiệc tất niên").results
    assert not demo.search("looking for Belgian waffles for a birthday party").results
    # A gift for a person named after "mua … cho" is still a gift.
    assert demo.search("muốn mua quà cho Lan, cô ấy thích uống trà").results


def test_what_the_buyer_takes_back_is_not_asked_and_what_they_meant_is(demo: SearchIndex) -> None:
    # The product named after the correction is the answer; the one taken back is not.
    assert names(demo.search("cho e hỏi bánh khảo, à nhầm, ý em là bánh chưng Vân"))[0] == "Bánh chưng Vân"
    assert names(demo.search("Do you sell Yen The chicken? Oops, I meant Chu rice noodles")) and all(
        "Mỳ" in n or "Mì" in n for n in names(demo.search("Do you sell Yen The chicken? Oops, I meant Chu rice noodles"))
    )
    # Meant goods the catalogue lacks: nothing, not the product taken back.
    assert not demo.search("Nấm rơm Đông Thịnh thì thôi, em cần nấm kim châm Hàn Quốc").results
    assert not demo.search("honey, no wait, I need maple syrup").results
    # A place corrected keeps the rating; a detail corrected keeps the product.
    answer = demo.search("sp 4 sao o Luc Nam, e nham, Yen The")
    assert answer.filters.get("stars") == 4 and answer.filters.get("district") == "Yên Thế", answer.filters
    assert names(demo.search("mật ong Tân Hưng giá bao nhiêu đô... à nhầm, bao nhiêu nghìn đồng")) == ["Mật ong Tân Hưng"]
    # "A, không phải B": A is meant; goods nobody listed there are no product of ours, B taken back.
    assert not demo.search("Gạo lứt đỏ Điện Biên, không phải gạo nếp đâu nhé").results
    assert names(demo.search("Gà đồi Yên Thế nguyên con, không phải giò gà"))[0] == "Gà đồi Yên Thế"
    # Words that only look like a correction typed plain or with other marks: the message as typed.
    assert names(demo.search("mật ong Tân Hưng có bán ở siêu thị không, giao hn được ko"))[0] == "Mật ong Tân Hưng"


def test_goods_a_clause_asks_for_with_co_khong_are_what_is_asked_not_the_need_after(demo: SearchIndex) -> None:
    # "có X hông/hok/không" with goods nobody listed, the need in another clause: those goods, none of ours.
    assert not demo.search("có rau muống sạch hông shop, tui luộc chấm mắm cho cả nhà").results
    assert not demo.search("có cacao gói hok ad, sáng con đi học pha uống").results
    # Our product asked so is found, and a set or a source is no goods of its own.
    assert demo.search("có mật ong hông shop, tui pha uống buổi sáng").results
    assert demo.search("cty cần quà tết cho đối tác, có combo đặc sản nào không shop").results


def test_a_dish_cooked_stands_for_its_ingredients_and_a_dish_eaten_out_is_no_product(demo: SearchIndex) -> None:
    # Cooked at home: what goes into it, as far as the catalogue has it.
    assert {"Bún Đa Mai", "Thịt lợn Bình Minh"} <= set(names(demo.search("chủ nhật nấu bún chả cho 5 người, cần mua gì")))
    assert names(demo.search("we are making summer rolls for a class party"))[0] in ("Bún Đa Mai", "Bún tươi sạch Thắng Thủy")
    assert names(demo.search("Tết này tự thổi xôi gấc, nên chọn loại nếp nào"))[0] == "Gạo nếp cái hoa vàng Thái Sơn"
    # Eaten out, or named alone: the dish, which no product is; beside a product, what it is for.
    assert not demo.search("quán bún riêu nào ngon ở TP Bắc Giang").results
    assert names(demo.search("bún tươi Thắng Thủy giao mỗi sáng cho quán bún bò của tôi"))[0] == "Bún tươi sạch Thắng Thủy"
    # "làm" before a gift is no cooking: the fried rolls themselves, which no product is.
    assert not demo.search("mình muốn mua chả giò làm quà biếu sếp").results


def test_a_way_of_cooking_beside_a_product_word_is_no_other_product(demo: SearchIndex) -> None:
    assert names(demo.search("mẹ muốn hầm gà cho cả nhà"))[0] == "Gà đồi Yên Thế"
    assert names(demo.search("tối nay nấu canh măng cho cả nhà"))[0] == "Măng lục trúc tươi Lâm sinh Ngọc Châu"
    # (but a cake named for how it is made stays another cake: "bánh rán")
    assert not demo.search("bánh rán nhân đỗ 20 cái").results


def test_a_cold_drink_to_refresh_is_the_bottled_drink_not_tea_to_brew(demo: SearchIndex) -> None:
    assert names(demo.search("trời nóng quá, có gì uống giải khát để tủ lạnh không")) == ["Nước uống long nhãn Bắc Giang"]
    assert names(demo.search("need a cold drink for the kids after school"))[0] == "Nước uống long nhãn Bắc Giang"
    # A kind named stays the answer: tea asked for "to cool down" is tea.
    assert all("Chè" in n or "Trà" in n for n in names(demo.search("có trà gì uống cho mát không")))


def test_a_letter_s_salutation_is_no_request_to_consign_and_a_place_asked_about_holds(demo: SearchIndex) -> None:
    # "Kính gửi Ban …" typed with marks: no "gửi bán"; "có điểm nào" asks which places, the district holds.
    answer = demo.search("Kính gửi Ban quản lý, Lục Ngạn có những sản phẩm 4 sao nào, có giao hàng không ạ? Trân trọng")
    assert answer.results and answer.filters.get("district") == "Lục Ngạn", answer.filters
    answer = demo.search("Kính gửi quý cơ quan, đoàn chúng tôi muốn tham quan điểm du lịch ở Lục Ngạn, có điểm nào không")
    assert answer.filters.get("district") == "Lục Ngạn" and answer.filters.get("category") == "tourism", answer.filters


def test_a_superlative_ranks_what_is_asked_and_the_best_rated_are_those_with_most_stars(demo: SearchIndex) -> None:
    # "… nào ngọt nhất", "the juiciest …": how to rank them, no other product.
    assert all("Vải" in n for n in names(demo.search("vai nao ngot nhat vay shop")))
    assert all("Mật ong" in n for n in names(demo.search("which is the thickest honey you sell")))
    # "Nhất" of a name, or Japan, is no superlative.
    assert "nhat" in [u.text for u in demo.parser.parse("mì Đệ Nhất thùng 30 gói").units if u.role != "optional"]
    # The most stars: of those found, the ones rated highest.
    found = demo.search("mật ong nào được nhiều sao nhất")
    stars = {h.doc.stars for h in found.results}
    assert found.results and len(stars) == 1 and stars == {max(h.doc.stars or 0 for h in demo.search("mật ong").results)}


@pytest.mark.parametrize(
    "query",
    [
        "Có mũ cối không, bố em thích đội đi thăm vải",  # a pith helmet, then a lychee orchard
        "Có ấm tích không ạ, ông em pha chè hoa vàng",  # a teapot in its basket, for the golden camellia tea
        "co bong ngo caramel ko shop",  # popcorn, typed plain: no sweet corn
        "Bà cần cái xoong nồi to để nấu bánh chưng",  # pots to cook the cake in
    ],
)
def test_goods_named_by_a_word_of_the_language_after_co_or_a_classifier_are_not_found(
    demo: SearchIndex, query: str
) -> None:
    # A word of the language right after "có … không" or a classifier is what is asked for; the product words
    # around it say what it is for.
    answer = demo.search(query)
    assert not answer.results, names(answer)
    assert answer.terms, "what was asked is said"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Chả lụa Bình Minh có xuất hóa đơn không", "Chả lụa"),  # asked about the product named before "có"
        ("Gà đồi Yên Thế có tiêm phòng không", "Gà đồi"),
        ("Có gạo nếp cái hoa vàng không em", "Gạo nếp"),  # the words after "có" are the product's
        ("không có tủ lạnh thì mật ong để được không", "Mật ong"),  # a fridge the buyer has not: no goods asked
    ],
)
def test_co_after_a_product_or_before_its_words_still_finds_it(demo: SearchIndex, query: str, expected: str) -> None:
    answer = demo.search(query)
    assert answer.results and expected in answer.results[0].doc.name_vi, names(answer)


def test_a_classifier_inside_another_word_asks_nothing(demo: SearchIndex) -> None:
    # "cán bộ" (an official) has a "bộ" that is no classifier: the herbal products of Yên Thế are still asked for.
    answer = demo.search("cán bộ y tế xã hỏi Yên Thế có sản phẩm thảo dược nào")
    assert answer.results and answer.filters.get("district") == "Yên Thế", answer.filters


def test_goods_before_a_verb_of_wanting_are_not_made_of_what_follows(demo: SearchIndex) -> None:
    # "khách sạn cần nem nướng …": a hotel that needs the rolls, no hotel of rolls (as "túi lưới bao trái vải" is).
    answer = demo.search("Khách sạn cần nem nướng Liên Chung cho buffet")
    assert names(answer)[:1] == ["Nem nướng Liên Chung"], names(answer)
    assert names(demo.search("Khách sạn cần nem nướng Liên Chung cho tiệc"))[:1] == ["Nem nướng Liên Chung"]


def test_a_service_the_buyer_is_is_not_asked_for(demo: SearchIndex) -> None:
    # "bên em là công ty tổ chức sự kiện": who is buying; the cakes they need are the question.
    answer = demo.search(
        "Dạ bên em là công ty tổ chức sự kiện, cần bánh phu thê Đa Mai 800 chiếc cho lễ cưới, giao kịp sáng sớm không"
    )
    assert "service" not in answer.asks and names(answer)[:1] == ["Bánh phu thê Đa Mai"], (answer.asks, names(answer))


@pytest.mark.parametrize(
    "query",
    ["quán cafe e lấy snack JOY 10 thùng/tháng", "quan cafe e lay snack JOY 10 thung/thang", "50 lít mỗi tháng", "giao hàng tuần"],
)
def test_how_often_is_no_product_word(demo: SearchIndex, query: str) -> None:
    # "tháng" (month) after "mỗi", "hàng" or a slash says how often: no Quyết Thắng, no Thắng Thủy.
    asked = [u.text for u in demo.parser.parse(query).units if u.role in ("content", "elsewhere")]
    assert not {"thang", "tuan"} & set(asked), asked
    # Read as "mỗi" only where the unit carries marks: a message typed plain stays plain, an English one English.
    assert not any(demo.parser.parse("snack JOY 10 thung/thang").marked)
    assert "per" in demo.parser.parse("honey 2 jars/month please").keys


def test_a_service_for_a_product_named_before_it_keeps_the_product(demo: SearchIndex) -> None:
    # Printing the shop's own labels on the honey it orders: the honey is bought, the printing asked about it.
    answer = demo.search("Xin báo giá mật ong hoa vải Hằng Hiếu 500 hũ, in tem nhãn riêng của cửa hàng thì cộng thêm bao nhiêu")
    assert names(answer)[:1] == ["Mật ong hoa vải Hằng Hiếu"], names(answer)
    # A product cooked is a dish a restaurant serves: no product.
    assert not demo.search("quan nao o Bac Giang nau ga doi Yen The ngon, dat ban 6 nguoi").results


def test_a_kind_asked_for_in_its_own_clause_is_the_answer(demo: SearchIndex) -> None:
    # Milk tea is what the buyer makes; "cần loại trà ngon" asks for tea.
    answer = demo.search("Mình tự pha trà sữa ở nhà, cần loại trà ngon làm cốt")
    assert answer.results and all(fold(n).split()[0] in ("tra", "che") for n in names(answer)), names(answer)
    # A kind that a product phrase elsewhere begins with names that again: the hill chicken, not any chicken.
    assert "Gà đồi Yên Thế" in names(demo.search("gà đồi nướng muối ớt thơm quá, shop có bán gà làm sẵn không"))


def test_an_unknown_word_before_a_quality_is_the_goods_asked(demo: SearchIndex) -> None:
    # "mít sấy": the jackfruit is the thing, "sấy" (dried) only says how; no dried ginseng or cordyceps.
    assert not demo.search("cho em hỏi mua mít sấy giòn ở đâu, ship về Hà Nội được không ạ").results
    # A quality after a kind the catalogue sells still finds it.
    assert demo.search("cho em hỏi mua nấm rơm tươi ở đâu, ship về Hà Nội được không ạ").results


def test_chay_after_a_product_word_asks_for_its_vegetarian_version(demo: SearchIndex) -> None:
    # No vegetarian chả or sausage in the catalogue: nothing, rather than the meat ones.
    assert not demo.search("shop có chả chay không, mùng một nhà mình cúng").results
    # Noodles some of which are vegetarian: those first (a need beside a product word ranks, it does not filter).
    found = [("vegetarian" in h.doc.uses) for h in demo.search("cho mình 5 gói mỳ chay nấu cho nhà chùa").results]
    assert found[:3] == [True] * 3 and found == sorted(found, reverse=True), found
    # A maker named with it: the buyer asks that maker whether it makes one.
    assert names(demo.search("Cô Tiên Huyền có bánh dẻo chay không shop"))[:1] == ["Bánh nướng, bánh dẻo Cô Tiên Huyền Bakery"]


def test_quitting_a_drink_rules_it_out_of_the_gift(demo: SearchIndex) -> None:
    answer = demo.search("bạn mình đang cai rượu, sinh nhật tặng gì thay cho chai rượu")
    assert answer.results and not any(fold(n).startswith("ruou") for n in names(answer)), names(answer)


def test_the_souths_word_for_corn_kernels_finds_the_sweet_corn(demo: SearchIndex) -> None:
    # "bắp hột" is the South's "ngô hạt": Vifoco's whole-kernel sweet corn.
    assert names(demo.search("cho tui 2 lon bắp hột Vifoco nấu chè nha"))[:1] == ["Ngô ngọt nguyên hạt Vifoco"]


def test_an_unknown_word_after_a_kind_says_which_beside_a_need_or_place_too(demo: SearchIndex) -> None:
    # "gạo huyết rồng" is another rice, whatever need or place the message names: the word is no chat to cap.
    parsed = demo.parser.parse("Gạo huyết rồng nấu cơm cho cả nhà ở Lục Nam")
    assert [u.text for u in parsed.units if u.kind_word] == ["huyet", "rong"], [(u.text, u.kind_word) for u in parsed.units]


def test_cooking_with_a_product_is_no_tool_for_it(demo: SearchIndex) -> None:
    # "cắt nhỏ nấu với nước dùng gà": cut and cooked with a broth; "cắt" is no tool for making "nước" (a drink).
    assert names(demo.search("mua mỳ gạo Hằng Hiếu về cắt nhỏ nấu với nước dùng gà cho bé"))[:1] == ["Mỳ gạo Lục Ngạn Hằng Hiếu"]


def test_a_cut_of_meat_is_the_meat(demo: SearchIndex) -> None:
    # "thịt nạc" (lean meat) is a cut, no other goods: the pork is an answer (the rules' reading; whether the learned
    # gate trusts a long message's answer is the gate's matter).
    assert "Thịt lợn Bình Minh" in names(demo.search("cần 2 cân thịt nạc sạch để nấu cháo cho bé"))
    query = "Bà ốm mới dậy, cần thịt nạc tươi để luộc, giao trong ngày được không"
    assert "Thịt lợn Bình Minh" in names(demo.search(query, gated=False))


def test_without_rules_out_what_follows_it(demo: SearchIndex) -> None:
    # "không có thịt và rượu": a vegetarian gift without meat or wine.
    answer = demo.search("biếu ông bà thông gia ít quà quê, nhà ấy ăn chay nên không có thịt và rượu nhé")
    assert answer.results and not any(fold(n).split()[0] in ("ruou", "thit") for n in names(answer)), names(answer)
    # Only what comes right after "không có": "lúa mì" is wheat, the rice noodles stay.
    assert demo.search("cần sợi mềm nấu cháo cho bé mà không có lúa mì").results


def test_goods_given_up_are_not_asked_and_stuff_is_no_tool(demo: SearchIndex) -> None:
    # "đã bỏ rượu bia": drink given up, so no other goods asked; the herbs for the liver are the question.
    assert names(demo.search("chồng em đã bỏ rượu bia rồi, giờ muốn tìm thảo dược mát gan"))[:1] == ["An Xoa giải độc gan Khánh Hoa"]
    # "đồ để nấu cháo gà": things to cook with, whatever they are, not a tool for it.
    assert "Gà đồi Yên Thế" in names(demo.search("cần đồ để nấu cháo gà cho người ốm"))


def test_stars_in_northern_spelling(demo: SearchIndex) -> None:
    # "5 xao": the s/x of Northern speech for "5 sao", after a digit.
    assert demo.search("cho bác xem những thứ được 5 xao của tỉnh").filters.get("stars") == 5
    assert demo.search("nem 4 xào hay chiên").filters.get("stars") is None  # "xào" (stir-fried) with its mark


def test_a_place_or_rating_named_again_after_weighing_two_is_the_pick(demo: SearchIndex) -> None:
    answer = demo.search("Lục Ngạn hay Tân Yên nhỉ, thôi lấy hàng Tân Yên, có gì ngon")
    assert answer.results and {h.doc.district for h in answer.results} == {"Tân Yên"}
    answer = demo.search("4 sao hay 5 sao đây, thôi cứ 5 sao cho chắc")
    assert answer.results and {h.doc.stars for h in answer.results} == {5}
    # Two places compared, neither picked: both stand. The province named twice is no pick of a district.
    assert demo.parser.parse("so sánh vải Lục Ngạn với vải Tân Yên giúp mình").places[1].value == "Tân Yên"
    assert [p.value for p in demo.parser.parse("sp OCOP ở Yên Thế, Bắc Ninh (Bắc Giang cũ) có gì").places][:1] == [
        "Yên Thế"
    ]


def test_a_follow_up_asks_for_the_thing_after_con(demo: SearchIndex) -> None:
    # "thế còn …", "vậy còn …": what follows is the one more thing asked for; a word of the language there that
    # names no product is goods the catalogue lacks, whatever product word follows it.
    for message in ("vậy còn bát hương bằng sứ thì sao", "vậy còn giấy dó để gói bánh"):
        assert demo.search(message, gated=False).results == [], message
    assert names(demo.search("vậy còn bánh chưng Vân")) == ["Bánh chưng Vân"]
    assert demo.search("còn mật ong không shop").results


@pytest.mark.parametrize(
    ("message", "meant"),
    [
        ("nhầm, ko phải mật ong rừng, ý là mật ong hoa vải", "Mật ong hoa vải Hằng Hiếu"),
        ("em sửa lại, 3 hộp chứ ko phải 3 thùng, chè xanh Bản Ven hộp nhỏ bao nhiêu", "Chè xanh Bản Ven"),
        ("oh wait, không phải mỳ Chũ Hiền Phước, Xuân Trường mới đúng", "Mỳ gạo Chũ Xuân Trường"),
        # A count corrected ("1 cặp" for "1 chai") leaves the product asked for.
        ("rượu Vân Hương 1 chai bao nhiêu, e nhầm, 1 cặp", "Rượu nếp cái hoa vàng Vân Hương"),
        # "không phải/cần/lấy X đâu, Y", "không … X nữa, Y", "đổi giúp em sang Y", "actually I want Y", "ý e là Y",
        # "không phải X mà Y cơ"
        ("không phải mật ong rừng đâu, mật ong hoa vải Hằng Hiếu ấy", "Mật ong hoa vải Hằng Hiếu"),
        ("Em không cần rượu đâu chị, em cần chè xanh Bản Ven", "Chè xanh Bản Ven"),
        ("ko lấy mỳ nữa, lấy 2 hũ mật ong Yên Mỹ", "Mật ong Yên Mỹ"),
        ("lúc nãy hỏi giò lụa, chị đổi giúp em sang giò gà Yên Thế nhé", "Giò gà Yên Thế"),
        ("sorry, actually I want the Ban Ven green tea, not the honey", "Chè xanh Bản Ven"),
        ("ko phải mật ong, ý e là chè xanh Bản Ven", "Chè xanh Bản Ven"),
        ("không phải Tân Yên mà Yên Thế cơ, gà đồi có không", "Gà đồi Yên Thế"),
        ("bot không hiểu thì thôi, em gõ lại: mận cơm Tân Sơn", "Mận cơm Hoàng Thi Tân Sơn"),
        # Typed plain the same: the patterns are folded to lower case, so they hold no "\S".
        ("ko phai mat ong, e can che xanh Ban Ven", "Chè xanh Bản Ven"),
        ("mật ong hoa vải chứ không phải mật ong rừng nha", "Mật ong hoa vải Hằng Hiếu"),  # "chứ" needs no comma
        ("khong can ruou dau, em can che xanh Ban Ven", "Chè xanh Bản Ven"),
    ],
)
def test_more_ways_of_taking_back_what_was_typed(demo: SearchIndex, message: str, meant: str) -> None:
    assert meant in names(demo.search(message, gated=False))[:2], names(demo.search(message, gated=False))


def test_a_sentence_opening_with_what_is_not_wanted_asks_for_what_follows(demo: SearchIndex) -> None:
    # "Không phải X, em tìm Y", "E ko hỏi X, e hỏi Y", "Not X, I'm after Y": Y is asked for, even goods we lack.
    for message in (
        "Không phải mật ong, em tìm keo ong, có không",
        "E ko hỏi giò lụa, e hỏi giò thủ ép, bên mình có làm ko",
        "Not the honey, I'm after beeswax wraps for sandwiches.",
    ):
        assert demo.search(message, gated=False).results == [], message
    assert names(demo.search("Không phải mật ong, em cần chè xanh Bản Ven", gated=False))[:1] == ["Chè xanh Bản Ven"]


def test_words_like_a_correction_that_take_nothing_back() -> None:
    # Typed plain "doi sang" is đợi sang (wait till); "không phải nấu mà không cay" asks two things; money is changed.
    for message in (
        "vu sua co chua, hay phai doi sang nam",
        "cần đồ ăn khô không phải nấu mà không cay",
        "tỷ giá won đổi sang tiền Việt hôm nay",
        "mâm cúng nhà em không làm gà, thay bằng gì cho đủ lễ",
    ):
        assert correction(message) is None, message


def test_a_rating_taken_back_with_co_is_the_other_one(demo: SearchIndex) -> None:
    # "ko phải 4 sao, 3 sao cơ": the 3 stars are meant; "cơ" is a particle of Northern chat, not "hữu cơ" (organic).
    answer = demo.search("ko phải 4 sao, 3 sao cơ, đồ uống có gì", gated=False)
    assert answer.results and {h.doc.stars for h in answer.results} == {3}
    assert names(demo.search("vải hữu cơ"))[:1] == ["Vải thiều hữu cơ Kiên Thành"]


def test_vai_before_a_count_is_a_few_not_lychee(demo: SearchIndex) -> None:
    # "vài hộp mật ong": a few jars of honey, no lychee-flower honey for the "vải" typed plain or as "vài".
    assert "vai" not in [u.text for u in demo.parser.parse("mua vai chai ruou Van Huong").units]
    assert "Hoa vải" not in " ".join(names(demo.search("muốn mua vài hộp mật ong làm quà", gated=False))[:1]).title()
    assert "vai" in [u.text for u in demo.parser.parse("vai ta ngon ko").units]  # "vải ta": lychees


def test_a_trip_to_a_place_that_is_none_of_ours_is_no_visit_we_have(demo: SearchIndex) -> None:
    assert demo.search("có tour lặn biển ở Phú Quốc không, nhà mình 5 người", gated=False).results == []
    assert names(demo.search("homestay ở Yên Thế cho 4 người", gated=False))[:1] == ["Du lịch sinh thái, văn hóa bản Ven"]


def test_qua_cho_typed_plain_is_a_gift_for_somebody(demo: SearchIndex) -> None:
    # "mua qua cho me": quà (a gift) for mum, not quả (fruit); "vai qua to" is still big lychees.
    assert demo.parser.parse("mua qua cho me").uses == ["gift"]
    assert not demo.parser.parse("vai qua to").uses and names(demo.search("vai qua to"))[0].startswith("Vải")


def test_a_word_typed_with_other_letter_marks_is_another_word(demo: SearchIndex) -> None:
    # "nấm" (mushroom) is no "Nam" of Na Lục Nam, "măng" (bamboo shoot) no "mãng cầu": the letters differ, not only
    # the tone. A tone typed wrong still finds the word ("mạt ong" is mật ong).
    assert sorted(names(demo.search("nấu lẩu cuối tuần, cần mua nấm và măng", gated=False))[:2]) == [
        "Măng lục trúc tươi Lâm sinh Ngọc Châu", "Nấm rơm Đông Thịnh"
    ]
    assert names(demo.search("mạt ong rừng"))[:1] == ["Mật ong rừng Sơn Động"]


def test_in_chat_a_tone_typed_that_is_not_the_products_makes_another_word(demo: SearchIndex) -> None:
    from catalog.search.model import Alt
    from catalog.text import accent_key

    honey = {i for i, d in enumerate(demo.docs) if d.name_vi.startswith("Mật ong")}

    def fitting(typed: str, tones: bool, sound: bool = False) -> frozenset[int] | None:
        return demo.matcher.fitting(Alt(("mat",), 1.0, (accent_key(typed),), sound=sound, tones=tones), "mat",
                                    accent_key(typed))

    # "mát" (cool) typed in a chat message is no "mật" (honey); in a short query it may be a slip of the tone.
    assert not honey & fitting("mát", tones=True)
    assert fitting("mát", tones=False) is None and honey <= fitting("mật", tones=True)
    assert fitting("mát", tones=True, sound=True) is None  # (a regional spelling's marks: `mismatch` checks them)
    assert all(a.tones for u in demo.parser.parse("nhà có khách, cần mua ít mắm tép về kho thịt").units for a in u.alts
               if any(a.accents) and not (a.sound or a.exact))
    assert not any(a.tones for u in demo.parser.parse("chẻ xanh").units for a in u.alts)
    assert names(demo.search("chẻ xanh"))[:1] == ["Chè xanh Bản Ven"]


def test_a_places_products_asked_beside_a_trip_are_the_answer(demo: SearchIndex) -> None:
    # The trip is why ("đi chơi", a visit); the place's products were asked for, none of them a visit.
    answer = demo.search("cuối tuần đi chơi Lục Nam, có sp OCOP gì mua về không", gated=False)
    assert answer.results and {h.doc.district for h in answer.results} == {"Lục Nam"}


def test_a_way_of_going_before_a_place_is_no_goods_named_there(demo: SearchIndex) -> None:
    # "ghé", "trip to": where the buyer goes; "khoai lang Tân Yên": goods the place does not have.
    for message, district in (("ghé Lục Ngạn nửa ngày, có đồ ăn OCOP nào mua được không", "Lục Ngạn"),
                              ("trip to Luc Nam next week, any drinks made there?", "Lục Nam")):
        answer = demo.search(message, gated=False)
        assert answer.results and {h.doc.district for h in answer.results} == {district}, message
    assert demo.search("khoai lang Tân Yên còn không").results == []


def test_another_places_goods_said_first_are_a_comparison_not_the_question(demo: SearchIndex) -> None:
    # "Thái Nguyên has Tân Cương tea; what does Yên Thế have?": the clause after the comparison is the question.
    for message, district in (("Thái Nguyên thì có chè Tân Cương, còn Yên Thế có sản phẩm OCOP nào?", "Yên Thế"),
                              ("ở quê tôi Sơn La có mận hậu, bên Lục Ngạn có đặc sản gì", "Lục Ngạn")):
        answer = demo.search(message, gated=False)
        assert answer.results and {h.doc.district for h in answer.results} == {district}, message
