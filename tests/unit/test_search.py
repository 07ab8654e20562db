"""Catalogue search behaviour, on a small inline catalogue and on the demo catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.lexicon import Lexicon, default_lexicon
from catalog.search import ProductDoc, SearchAnswer, SearchHit, SearchIndex

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"
HIT_KEYS = {"slug", "name_vi", "name_en", "producer", "commune", "district", "stars", "category", "score"}


def doc(
    slug: str,
    name_vi: str,
    name_en: str = "",
    *,
    aliases: tuple[str, ...] = (),
    category: str = "food",
    stars: int | None = 3,
    producer: str = "",
    commune: str = "",
    district: str = "Lục Ngạn",
) -> ProductDoc:
    return ProductDoc(
        slug, name_vi, name_en, aliases, category, stars, producer, commune, district, "Bắc Giang"
    )


SMALL = [
    doc("my-an-binh", "Mỳ gạo An Bình", "An Binh rice noodles", producer="HTX Mỳ An Bình", commune="TT Chũ"),
    doc("mi-bao-lac", "Mì gạo Bảo Lạc", "Bao Lac rice noodles", district="Yên Thế", stars=4),
    doc("bi-do", "Bí đỏ Tân Sơn", "Tan Son pumpkin", commune="xã Tân Sơn"),
    doc(
        "buoi",
        "Bưởi Quang Thịnh",
        "Quang Thinh pomelo",
        stars=4,
        district="Lạng Giang",
        commune="xã Quang Thịnh",
    ),
    doc(
        "banh-khao",
        "Bánh khảo Mộc Sơn",
        "rice flour cake",
        district="Yên Thế",
        producer="HTX Nông nghiệp Mộc Sơn",
    ),
    doc(
        "ruou",
        "Rượu men lá Kiên Thành",
        "leaf yeast wine",
        category="beverage",
        stars=4,
        commune="xã Kiên Thành",
    ),
    doc(
        "che",
        "Chè xanh Bản Ven",
        "Ban Ven green tea",
        aliases=("trà Bản Ven",),
        category="beverage",
        district="Yên Thế",
        commune="xã Xuân Lương",
    ),
    doc("xuc-xich", "Xúc xích gà Yên Thế", "Yen The chicken sausage", district="Yên Thế", stars=4),
    doc("vu-sua", "Vú sữa Tân Yên", "Tan Yen star apple", district="Tân Yên", stars=4),
]


@pytest.fixture(scope="module")
def small() -> SearchIndex:
    return SearchIndex(SMALL)



def slugs(answer: SearchAnswer) -> list[str]:
    return [h.doc.slug for h in answer.results]


# ------------------------------------------------------------------------------------------ data and contract


def test_from_row_accepts_lists_pipes_and_missing_keys() -> None:
    a = ProductDoc.from_row({"slug": "x", "name_vi": "Vải", "aliases": ["a", " b ", ""], "stars": 4})
    b = ProductDoc.from_row({"slug": "x", "name_vi": "Vải", "aliases": "a| b |", "stars": "4"})
    assert a == b
    assert a.aliases == ("a", "b") and a.stars == 4
    assert a.name_en == a.producer == a.commune == a.district == a.province == a.category == ""
    assert ProductDoc.from_row({"slug": "y", "name_vi": "Na", "stars": ""}).stars is None
    assert ProductDoc.from_row({"slug": "y", "name_vi": "Na", "stars": None, "aliases": None}).aliases == ()


def test_to_json_is_the_cli_contract(small: SearchIndex) -> None:
    data = small.search("bưởi").to_json()
    assert set(data) == {"query", "results", "suggestions", "filters", "asks", "doubted"}
    assert data["query"] == "bưởi"
    assert set(data["results"][0]) == HIT_KEYS
    assert data["results"][0]["slug"] == "buoi"
    assert data["results"][0]["score"] == round(data["results"][0]["score"], 1)
    json.dumps(data, ensure_ascii=False)


def test_index_length_and_empty_catalogue() -> None:
    assert len(SearchIndex(SMALL)) == len(SMALL)
    empty = SearchIndex([])
    assert len(empty) == 0
    for q in ("vải thiều", "4 sao", "Lục Ngạn", ""):
        answer = empty.search(q)
        assert answer.results == [] and answer.suggestions == []


def test_limit(demo: SearchIndex) -> None:
    assert len(demo.search("mỳ", limit=2).results) == 2
    assert len(demo.search("OCOP 3 sao", limit=5).results) == 5
    assert len(demo.search("mỳ", limit=0).results) >= 1  # nonsense limits are clamped, not fatal


# ------------------------------------------------------------------------------------------------ matching


def test_exact_diacritics_rank_first(small: SearchIndex) -> None:
    assert slugs(small.search("mỳ gạo"))[:2] == ["my-an-binh", "mi-bao-lac"]
    assert slugs(small.search("mì gạo"))[:2] == ["mi-bao-lac", "my-an-binh"]
    hits = small.search("mỳ gạo").results
    assert hits[0].score > hits[1].score


def test_without_diacritics_typos_telex_and_run_together(small: SearchIndex) -> None:
    assert slugs(small.search("buoi quang thinh"))[0] == "buoi"
    assert slugs(small.search("buoii quang thinh"))[0] == "buoi"
    assert slugs(small.search("buwowir"))[0] == "buoi"
    assert slugs(small.search("banhkhao"))[0] == "banh-khao"
    assert slugs(small.search("xucxich"))[0] == "xuc-xich"


def test_regional_spellings(small: SearchIndex) -> None:
    assert slugs(small.search("súc sích gà"))[0] == "xuc-xich"
    assert slugs(small.search("trè bản ven"))[0] == "che"
    assert slugs(small.search("nục ngạn mỳ"))[0] == "my-an-binh"


def test_english_and_questions(small: SearchIndex) -> None:
    assert slugs(small.search("pomelo"))[0] == "buoi"
    assert slugs(small.search("where can I buy chicken sausage?"))[0] == "xuc-xich"
    assert slugs(small.search("cho em hỏi mua bưởi ở đâu ạ"))[0] == "buoi"
    assert slugs(small.search("co ban che ban ven khong"))[0] == "che"


def test_out_of_catalogue_gets_no_answer(small: SearchIndex) -> None:
    for q in (
        "bia",
        "bia Hà Nội",
        "bánh mì",
        "bánh mì Sài Gòn",
        "chocolate",
        "iphone",
        "xe đạp",
        "qwerty",
        "cà phê",
    ):
        assert small.search(q).results == [], q


def test_a_word_inside_an_opaque_compound_is_not_that_word(small: SearchIndex) -> None:
    # "sữa" is milk; the catalogue only has "vú sữa" (star apple): a suggestion at most, never an answer.
    answer = small.search("sữa")
    assert answer.results == []
    assert [h.doc.slug for h in answer.suggestions] == ["vu-sua"]
    assert slugs(small.search("vú sữa")) == ["vu-sua"]


def test_marks_that_disagree_mean_another_word() -> None:
    index = SearchIndex([doc("x", "Mỳ gạo Nam Dương", commune="xã Nam Dương")])
    assert index.search("đường").results == []  # sugar, not Dương
    assert slugs(index.search("duong")) == ["x"]  # unmarked: could be either


def test_did_you_mean_for_a_typo_that_is_not_confident(demo: SearchIndex) -> None:
    answer = demo.search("chuu")
    assert answer.results == []
    assert answer.suggestions and all("Mỳ" in h.doc.name_vi for h in answer.suggestions)


# ------------------------------------------------------------------------------------------------- filters


def test_filter_only_queries_list_the_slice_best_rated_first(small: SearchIndex) -> None:
    answer = small.search("OCOP 4 sao")
    assert answer.filters == {"stars": 4}
    assert answer.results and all(h.doc.stars == 4 for h in answer.results)
    answer = small.search("beverages")
    assert answer.filters == {"category": "beverage"}
    assert set(slugs(answer)) == {"ruou", "che"}
    answer = small.search("sản phẩm Yên Thế")
    assert answer.filters == {"district": "Yên Thế"}
    assert set(slugs(answer)) == {"mi-bao-lac", "banh-khao", "che", "xuc-xich"}
    assert [h.doc.stars for h in answer.results][:2] == [4, 4]


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("4 sao hiệp hòa", {"stars": 4, "district": "Hiệp Hòa"}),
        ("thực phẩm 4 sao Lục Nam", {"category": "food", "stars": 4, "district": "Lục Nam"}),
        ("products in Viet Yen", {"district": "Việt Yên"}),
        ("bốn sao", {"stars": 4}),
        ("5-star", {"stars": 5}),
        ("five star products", {"stars": 5}),
        ("từ 4 sao trở lên", {"min_stars": 4}),
        ("đồ uống Yên Thế", {"category": "beverage", "district": "Yên Thế"}),
        ("herbal", {"category": "herbal"}),
        ("du lịch", {"category": "tourism"}),
        ("Bac Giang city", {"district": "TP Bắc Giang"}),
        ("tp bac giang", {"district": "TP Bắc Giang"}),
        ("xã Liên Chung", {"commune": "xã Liên Chung"}),
    ],
)
def test_filter_words(demo: SearchIndex, query: str, filters: dict[str, object]) -> None:
    answer = demo.search(query)
    assert answer.filters == filters
    assert answer.results and answer.terms == ""


def test_min_stars(demo: SearchIndex) -> None:
    answer = demo.search("từ 4 sao trở lên", limit=50)
    assert answer.results and all((h.doc.stars or 0) >= 4 for h in answer.results)
    assert any(h.doc.stars == 5 for h in answer.results)


def test_places_narrow_product_queries_when_they_can(demo: SearchIndex) -> None:
    answer = demo.search("vải thiều Lục Ngạn")
    assert answer.filters == {"district": "Lục Ngạn"}
    assert answer.results and all(h.doc.district == "Lục Ngạn" for h in answer.results)
    assert answer.terms == "vai thieu"
    # No hill chicken in Lục Ngạn: the chicken is still found, and no filter is claimed.
    answer = demo.search("gà đồi Lục Ngạn")
    assert answer.filters == {}
    assert answer.results[0].doc.slug.startswith(("ga-doi", "gio-ga", "cha-ga", "xuc-xich-ga"))


def test_a_place_a_product_is_named_after_counts(demo: SearchIndex) -> None:
    # Mỳ Chũ is named after TT Chũ, though most of its cooperatives sit in xã Nam Dương.
    answer = demo.search("mỳ thị trấn Chũ")
    assert answer.results and all("Mỳ" in h.doc.name_vi or "Mì" in h.doc.name_vi for h in answer.results)


def test_stars_narrow_product_queries_and_say_so_when_nothing_fits(demo: SearchIndex) -> None:
    answer = demo.search("rượu 4 sao")
    assert answer.results and all(h.doc.stars == 4 and h.doc.category == "beverage" for h in answer.results)
    answer = demo.search("rượu 5 sao")
    assert answer.results == [] and answer.filters == {"stars": 5}
    assert answer.suggestions and all("Rượu" in h.doc.name_vi for h in answer.suggestions)


def test_category_words_inside_product_names_do_not_filter_them_out(demo: SearchIndex) -> None:
    # "thảo dược" is the herbal group, but here it is part of a food product's name.
    answer = demo.search("Xúc xích heo thảo dược")
    assert answer.results[0].doc.slug == "xuc-xich-heo-thao-duoc-binh-minh"


def test_province_and_its_new_name(demo: SearchIndex) -> None:
    for q in ("sản phẩm Bắc Giang", "Bắc Ninh"):
        answer = demo.search(q)
        assert answer.filters == {"province": "Bắc Giang"}
        assert len(answer.results) == 10


# ----------------------------------------------------------------------------------------- demo catalogue


@pytest.mark.parametrize(
    ("query", "slug_prefix"),
    [
        ("vai thieu hong xuan", "vai-thieu-hong-xuan"),
        ("Chả gà Yên Thế", "cha-ga"),
        ("matong rung", "mat-ong-rung"),
        ("leaf yeast wine Moc Son", "ruou-men-la-moc-son"),
        ("cordyceps Adenco", "dong-trung-ha-thao-adenco"),
        ("đông trùng hạ thảo", "dong-trung-ha-thao"),
        ("dong trung ha thoa", "dong-trung-ha-thao"),
        ("custard apple", "na-"),
        ("Who makes Yen The chicken sausage", "xuc-xich-ga-yen-the"),
        ("mì chũ", "my-"),
    ],
)
def test_demo_queries(demo: SearchIndex, query: str, slug_prefix: str) -> None:
    assert slugs(demo.search(query))[0].startswith(slug_prefix)


def test_terms_are_the_folded_product_words(demo: SearchIndex) -> None:
    assert demo.search("cho em hỏi mua mỳ chũ chính hãng").terms == "my chu"
    assert demo.search("do you sell lychee?").terms == "lychee"


def test_scores_are_in_range_and_sorted(demo: SearchIndex) -> None:
    for q in ("mật ong", "vải", "rượu Vân Hương", "4 sao"):
        hits = demo.search(q).results
        assert all(isinstance(h, SearchHit) and 0.0 <= h.score <= 100.0 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_lexicon_is_data(small: SearchIndex) -> None:
    base = json.loads(
        (Path(__file__).resolve().parents[2] / "catalog" / "data" / "lexicon.json").read_text("utf-8")
    )
    base["concepts"].append({"vi": ["bí đỏ", "bí ngô"], "en": ["squash"]})
    index = SearchIndex(SMALL, lexicon=Lexicon.from_mapping(base))
    assert slugs(index.search("squash")) == ["bi-do"]
    assert slugs(index.search("bí ngô")) == ["bi-do"]
    assert small.search("squash").results == []
    assert default_lexicon() is default_lexicon()


def test_an_unknown_word_next_to_a_known_one_counts_against(small: SearchIndex) -> None:
    # Half the query is unexplained: not an answer (one known word must not carry an unknown one).
    assert small.search("bưởi xyzzyq").results == []
    assert small.search("gạo ST25").results == []


def test_phrases_are_phrases(demo: SearchIndex) -> None:
    # "rượu" and "vang" both occur in "Rượu nếp cái hoa vàng", but not side by side: grape wine is not sold.
    assert demo.search("rượu vang").results == []
    # A longer known phrase inside wins over a shorter one at the start: "gạo | nếp cái hoa vàng".
    assert slugs(demo.search("gạo nếp cái hoa vàng"))[0] == "gao-nep-cai-hoa-vang-thai-son"


def test_a_slip_of_the_marks_inside_a_known_phrase_is_forgiven(demo: SearchIndex) -> None:
    assert slugs(demo.search("mật ong rưng"))[0] == "mat-ong-rung-son-dong"
    assert slugs(demo.search("mat ong rung"))[0] == "mat-ong-rung-son-dong"


# ------------------------------------------------------------------ a real word is not a variant of another


def names(answer: SearchAnswer) -> list[str]:
    return [h.doc.name_vi for h in answer.results]


@pytest.mark.parametrize("query", ["vải sợi", "vải dệt", "vải thổ cẩm", "sợi", "sợi dệt"])
def test_textile_queries_are_not_lychee(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results == []
    assert all(h.doc.category != "food" or "Vải" in h.doc.name_vi for h in answer.suggestions)


def test_vai_soi_gets_lychee_as_a_did_you_mean_only(demo: SearchIndex) -> None:
    answer = demo.search("vải sợi")
    assert answer.results == [] and answer.suggestions
    assert all(h.doc.name_vi.startswith("Vải") for h in answer.suggestions)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("vải sớm", "Vải sớm Phúc Hòa"),
        ("vải sớmm", "Vải sớm Phúc Hòa"),  # a misspelt syllable may be a typo of anything
        ("rượi nếp", "Rượu nếp"),  # a slip that keeps the marks is still a slip
        ("sôi sắc màu", "Xôi sắc màu"),  # s/x with the word's own marks
        ("ruợu", "Rượu"),  # a letter mark slipped
        ("bươi", "Bưởi"),  # a tone forgotten
    ],
)
def test_near_misses_of_real_words_are_still_found(demo: SearchIndex, query: str, first: str) -> None:
    assert names(demo.search(query))[0].startswith(first)


def test_marks_typed_on_a_regional_variant_must_be_the_words(demo: SearchIndex) -> None:
    assert demo.search("sợi").results == []  # thread, not "xôi" with s/x
    assert demo.search("mãn").results == []  # content, not "mận"


# ------------------------------------------------------------------------- English words that are places too


@pytest.mark.parametrize("query", ["the", "The", "the?", "of the"])
def test_an_english_article_alone_is_nothing(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.results == [] and answer.suggestions == []


def test_yen_the_is_still_a_place(demo: SearchIndex) -> None:
    for q in ("yen the", "Yên Thế"):
        assert demo.search(q).filters == {"district": "Yên Thế"}
    assert names(demo.search("ga yen the"))[0] == "Gà đồi Yên Thế"
    assert names(demo.search("the chicken from Yen The"))[0].endswith("Yên Thế")
    assert names(demo.search("phu the")) == ["Bánh phu thê Đa Mai"]
    assert names(demo.search("my"))[0].startswith("Mỳ")  # mỳ stands on its own in its names


# ------------------------------------------------------------------------------------ southern finals


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("mật on", "Mật ong"),
        ("mật on rừn", "Mật ong rừng"),
        ("bánh chưn", "Bánh chưng"),
        ("nem nướn liên chun", "Nem nướng"),
        ("trà hoa cút", "Trà hoa cúc"),
        ("măn lục trúc", "Măng lục trúc"),
        ("chè xanh bảng ven", "Chè xanh Bản Ven"),
        ("gạo nếp cái hoa vàn", "Gạo nếp cái hoa vàng"),
    ],
)
def test_southern_finals(demo: SearchIndex, query: str, first: str) -> None:
    assert names(demo.search(query))[0].startswith(first)


@pytest.mark.parametrize("query", ["cút", "sắt", "hồn", "lụt", "phút", "mứt", "mức", "trứng cút"])
def test_a_real_word_alone_is_not_read_with_the_other_final(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == []


def test_the_other_final_does_not_outrank_the_word_typed(demo: SearchIndex) -> None:
    assert names(demo.search("rượu vân"))[0].endswith("Vân Hương")
    assert demo.search("rượu vang").results == []
    assert names(demo.search("mận")) == ["Mận cơm Hoàng Thi Tân Sơn"]
    assert names(demo.search("ngô ngọt"))[0] == "Ngô ngọt nguyên hạt Vifoco"


# --------------------------------------------------------------------------- product groups with a qualifier


@pytest.mark.parametrize(
    "query",
    [
        "đồ uống có cồn",
        "do uong co con",
        "bên mình có bán đồ uống có cồn không",
        "alcoholic drinks",
        "rượu mạnh",
    ],
)
def test_alcoholic_drinks_are_the_wines(demo: SearchIndex, query: str) -> None:
    found = names(demo.search(query))
    assert found and all(n.startswith("Rượu") for n in found)


@pytest.mark.parametrize(
    "query",
    ["đồ uống không cồn", "do uong khong con", "non-alcoholic drinks", "nước giải khát", "soft drinks"],
)
def test_non_alcoholic_drinks_are_the_drinks_but_the_wines(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert names(answer) == ["Nước uống long nhãn Bắc Giang"]
    assert answer.filters == {"category": "beverage"}


def test_a_ruled_out_product_is_no_answer_nor_a_suggestion(demo: SearchIndex) -> None:
    answer = demo.search("rượu không cồn")  # alcohol-free wine: not made here
    assert answer.results == [] and answer.suggestions == []
    # "không còn" (no more) with its own marks is not "không cồn": the wine is still found.
    assert names(demo.search("rượu nếp không còn à"))[0].startswith("Rượu nếp")


def test_a_soft_exclusion_applies_only_where_it_leaves_something(demo: SearchIndex) -> None:
    assert names(demo.search("healthy drinks")) == ["Nước uống long nhãn Bắc Giang"]
    assert names(demo.search("đồ uống tốt cho sức khỏe")) == ["Nước uống long nhãn Bắc Giang"]
    found = names(demo.search("rượu bổ dưỡng"))  # tonic wine is still wine
    assert found and all(n.startswith("Rượu") for n in found)


@pytest.mark.parametrize(
    "query",
    ["healthy drinks", "healthy food", "đồ uống 4 sao tốt cho sức khỏe", "đồ uống không cồn", "rượu 5 sao Lục Ngạn"],
)
def test_a_slice_is_every_filter_but_what_is_ruled_out(demo: SearchIndex, query: str) -> None:
    # What _filtered finds, against the sets it is made of: every filter's products, less those ruled out, less
    # those disliked where others are left; the same before the star rating. Never one of the index's own sets.
    parsed = demo.parser.parse(query)
    ix = demo.ix
    sets = [set().union(*(ix.by_category.get(c, set()) for c in parsed.categories))] if parsed.categories else []
    if parsed.places:
        sets.append(demo._in_places(parsed.places, named=False))
    excluded, disliked = demo._excluded(parsed.excluded), demo._excluded(parsed.excluded, soft=True)
    assert sets and not parsed.uses
    unstarred = set.intersection(*sets) - excluded
    starred = {d for d in unstarred if parsed.stars is None or ix.stars[d] == parsed.stars}
    found, without_stars = demo._filtered(parsed, [])
    assert found == (starred - disliked or starred)
    assert without_stars == (unstarred - disliked or unstarred)
    owned = [*ix.by_category.values(), *ix.by_stars.values(), *ix.facet.values()]
    assert not any(found is s or without_stars is s for s in owned)


@pytest.mark.parametrize(
    "query", ["thực phẩm sạch", "thực phẩm an toàn", "healthy food", "thực phẩm bổ dưỡng"]
)
def test_a_filler_qualifier_leaves_the_group(demo: SearchIndex, query: str) -> None:
    answer = demo.search(query)
    assert answer.filters == {"category": "food"}
    assert answer.results and all(h.doc.category == "food" for h in answer.results)


@pytest.mark.parametrize(
    "query", ["đồ uống có ga", "nước ngọt có ga", "thực phẩm chức năng", "bia không cồn"]
)
def test_a_qualifier_naming_what_is_not_sold_finds_nothing(demo: SearchIndex, query: str) -> None:
    assert demo.search(query).results == []


def test_qualifier_phrases_do_not_swallow_ordinary_words(demo: SearchIndex) -> None:
    # "có con gà" is not "có cồn", "có gà" is not "có ga".
    assert names(demo.search("co con ga doi nao khong"))[0].endswith("Yên Thế")
    assert names(demo.search("có gà đồi không"))[0] == "Gà đồi Yên Thế"
    assert names(demo.search("đồ ăn vặt")) == ["Snack gạo JOY – sốt cay ngọt"]


def test_exclusions_are_lexicon_data(small: SearchIndex) -> None:
    assert slugs(small.search("đồ uống không cồn")) == ["che"]
    lexicon = json.loads(
        (Path(__file__).resolve().parents[2] / "catalog" / "data" / "lexicon.json").read_text("utf-8")
    )
    lexicon["without"] = [{"not": "chè", "category": "beverage", "vi": ["không chè"]}]
    index = SearchIndex(SMALL, lexicon=Lexicon.from_mapping(lexicon))
    assert slugs(index.search("không chè")) == ["ruou"]
