"""Vietnamese alphabetical order: ă and â after a, đ after d, ê after e, ô and ơ after o, ư after u, and the
tones in dictionary order (ngang, huyền, hỏi, ngã, sắc, nặng)."""

from __future__ import annotations

import pytest

from catalog.collation import collation_key, sort_names


@pytest.mark.parametrize("expected", [
    ["An", "Ăn", "Âm", "Bánh"],
    ["Dưa", "Đỗ", "Đông trùng hạ thảo"],
    ["Chả gà Yên Thế", "Chè xanh Bản Ven", "Gà đồi Yên Thế", "Giò gà Yên Thế", "Giò lụa Thao Thanh"],
    ["Xôi sắc màu Hương Sơn", "Yến", "Đông"][:2],
    ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ", "Mắm", "Mật ong", "Me", "Mê", "Mỳ"],
    ["O", "Ô", "Ốc", "Ơi", "U", "Ư", "Xôi"],
])
def test_vietnamese_order(expected: list[str]) -> None:
    assert sorted(reversed(expected), key=collation_key) == expected
    assert sort_names(list(reversed(expected))) == expected


def test_d_with_stroke_after_every_d_and_before_e() -> None:
    assert sort_names(["Xôi", "Đông trùng hạ thảo", "Dưa", "Em"]) == ["Dưa", "Đông trùng hạ thảo", "Em", "Xôi"]


def test_case_and_composition_do_not_change_the_order() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Đông trùng")
    assert collation_key(decomposed) == collation_key("Đông trùng")
    assert sort_names(["b", "A", "a", "B"]) in (["a", "A", "b", "B"], ["A", "a", "B", "b"])
