"""The index proper (catalog/search/postings.py): what its tables hold once built and compacted."""

from __future__ import annotations

from catalog.search import ProductDoc, SearchIndex
from catalog.search.matching import Matcher
from catalog.search.model import NAME, PLACE, PRODUCER, PROVINCE
from catalog.search.postings import Postings
from catalog.text import accent_key


def doc(
    slug: str,
    name_vi: str,
    name_en: str = "",
    *,
    aliases: tuple[str, ...] = (),
    producer: str = "",
    commune: str = "",
    district: str = "Lục Ngạn",
    province: str = "Bắc Giang",
) -> ProductDoc:
    return ProductDoc(slug, name_vi, name_en, aliases, "food", 3, producer, commune, district, province)


def test_a_word_is_posted_once_per_product_with_its_best_field() -> None:
    # Fields are read names first, then producer, places, province: the first field a word is met in is its
    # best, whatever later fields repeat it.
    assert NAME >= PRODUCER >= PLACE >= PROVINCE
    ix = Postings(
        [
            doc(
                "a", "Mật ong Giang Sơn", producer="HTX Giang Sơn", commune="xã Sơn Hải", province="Bắc Giang"
            ),
            doc("b", "Vải thiều", producer="HTX Sơn Hải", commune="xã Sơn Hải"),
            doc("c", "Chè xanh", commune="xã Tân Sơn", district="Yên Thế"),
        ]
    )
    assert ix.post["giang"] == {0: NAME, 1: PROVINCE, 2: PROVINCE}
    assert ix.post["son"] == {0: NAME, 1: PRODUCER, 2: PLACE}
    assert ix.post["hai"] == {0: PLACE, 1: PRODUCER}
    assert ix.post["htx"] == {0: PRODUCER, 1: PRODUCER}
    assert set(ix.pairs[("son", "hai")]) == {0, 1}
    assert ix.kind_of == [("mat",), ("vai",), ("che",)]
    assert [ix.rank_of[d] for d in range(3)] == [0, 1, 2]


def test_a_word_without_a_regional_twin_shares_its_postings() -> None:
    ix = Postings([doc("a", "Mật ong Sơn Động"), doc("b", "Gạo nếp Xuân Lương", producer="HTX Xuân Lương")])
    assert ix.sound_post["mat"] is ix.post["mat"]
    # "xuân" and "suân" would share a regional key; only one is written, so its postings are shared too.
    assert ix.sound_post["xuan"] is ix.post["xuan"]
    assert ix.sound_post["xuan"] == {1: NAME}


def test_a_mismatch_is_the_products_writing_only_other_marks() -> None:
    # 40 products write "đông", one writes both "đông" and "đồng", two write only "đồng": typed "đông", only the
    # last two write the word with other marks (the fitting spelling is the big one: looked up, not a set).
    docs = [doc(f"d{n}", f"Mật ong Đông Phú {n}") for n in range(40)]
    docs += [doc("both", "Gạo Đồng Đông"), doc("x", "Bánh Đồng Văn"), doc("y", "Bánh Đồng Tâm")]
    matcher = Matcher(Postings(docs))
    assert matcher.mismatch("dong", accent_key("đông")) == {41, 42}
    assert matcher.mismatch("dong", accent_key("đồng")) == set(range(40))
    assert matcher.mismatch("dong", accent_key("đông"), exact=True) == {41, 42}


def test_a_scaffolding_word_inside_a_place_name_is_not_a_product_word() -> None:
    # "thế" of "Yên Thế" is no product word; written on its own in a name, it is.
    ix = Postings(
        [
            doc("a", "Gà đồi", district="Yên Thế"),
            doc("b", "Bánh phu thê Thế Gia", district="Yên Thế"),
            doc("c", "Mật ong", district="Lục Nam", province="Yên Thế"),  # a province is not looked at
        ]
    )
    assert set(ix.post["the"]) == {0, 1, 2}
    assert set(ix.free_post["the"]) == {1}


def test_a_scaffolding_word_is_inside_a_longer_place_name_only_where_all_of_it_is_written() -> None:
    # "thế" of "Hà Thế Vinh": inside where the three words stand together, free where only "Thế Vinh" does (a pair
    # of the name, not the name) or where it stands beside no word of the name.
    ix = Postings(
        [
            doc("a", "Gà đồi Hà Thế Vinh", district="Hà Thế Vinh"),
            doc("b", "Bánh Thế Gia", district="Hà Thế Vinh"),
            doc("c", "Mật ong Thế Vinh", district="Lục Nam"),
        ]
    )
    assert set(ix.post["the"]) == {0, 1, 2}
    assert set(ix.free_post["the"]) == {1, 2}


def test_a_built_index_answers_generic_words_over_many_products() -> None:
    docs = [
        doc(f"p{n}", f"{name} {place}", producer=f"HTX Nông nghiệp {place}", commune=f"xã {place}")
        for n, (name, place) in enumerate(
            (name, place)
            for name in ("Mật ong", "Vải thiều", "Gạo nếp", "Chè xanh")
            for place in ("An Phú", "Tân Sơn", "Hồng Giang", "Đông Phú", "Xuân Lương")
        )
    ]
    index = SearchIndex(docs)
    honey = index.search("mật ong", limit=50).results
    assert {h.doc.slug for h in honey} == {f"p{n}" for n in range(5)}
    named = index.search("HTX Nông nghiệp Đông Phú").results
    assert named and all("Đông Phú" in h.doc.producer for h in named)


def test_the_builds_memos_emptied_when_full_build_the_same_index(monkeypatch) -> None:
    # Producers, places and aliases repeat and are analysed once while the memo holds them; emptied every two
    # entries, they are analysed again: the same tables, value for value.
    docs = [
        doc(
            f"p{n}",
            f"{name} {place}",
            aliases=(f"{name} {place} loại {n % 3}",) if n % 2 else (),
            producer=f"HTX Nông nghiệp {place}",
            commune=f"xã {place}",
            district=("Yên Thế", "Lục Nam", "Sơn Động")[n % 3],
        )
        for n, (name, place) in enumerate(
            (name, place)
            for name in ("Mật ong", "Bánh phu thê", "Vú sữa", "Chè xanh")
            for place in ("An Phú", "Tân Sơn", "Thế Gia", "Đông Phú", "Xuân Lương")
        )
    ]
    whole = Postings(docs)
    monkeypatch.setattr("catalog.search.postings.PLACES_MEMO", 2)
    monkeypatch.setattr("catalog.search.postings.TEXTS_MEMO", 2)
    emptied = Postings(docs)
    assert whole.__dict__.keys() == emptied.__dict__.keys()
    for name, table in whole.__dict__.items():
        assert emptied.__dict__[name] == table, name
