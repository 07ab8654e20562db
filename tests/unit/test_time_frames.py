"""The wholesale form's time frame (catalog/validation.py): read into a month, season or date, refused when past
or when the words name no time, and a relative one said as the month or date it means."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.validation import TimeFrameError, TimeProblem, parse_time_frame

TODAY = dt.date(2026, 12, 5)  # a Saturday


@pytest.mark.parametrize("text", ["hôm qua", "tháng trước", "tuần trước", "năm ngoái", "hai năm trước",
                                  "yesterday", "last month", "last year", "2 years ago", "tháng 1/2020",
                                  "March 2025"])
def test_past_wordings_are_refused(text: str) -> None:
    with pytest.raises(TimeFrameError) as refused:
        parse_time_frame(text, TODAY)
    assert refused.value.problem == TimeProblem.PAST


@pytest.mark.parametrize("text", ["abc xyz", "ngày", "day", "a day", "sau", "nay", "the end", "thu", "đông",
                                  "whenever lol"])
def test_words_that_name_no_time_are_refused(text: str) -> None:
    with pytest.raises(TimeFrameError) as refused:
        parse_time_frame(text, TODAY)
    assert refused.value.problem == TimeProblem.MEANINGLESS


@pytest.mark.parametrize(("text", "language", "taken"), [
    ("tháng sau", "vi", "tháng sau (tháng 1/2027)"),
    ("next month", "en", "next month (January 2027)"),
    ("tuần sau", "vi", "tuần sau (tuần từ 7/12/2026)"),
    ("ngày mai", "vi", "ngày mai (6/12/2026)"),
    ("in 2 weeks", "en", "in 2 weeks (19 Dec 2026)"),
    ("3 tháng nữa", "vi", "3 tháng nữa (tháng 3/2027)"),
    ("tháng 3", "vi", "tháng 3 (tháng 3/2027)"),
    ("March", "en", "March (March 2027)"),
    ("15/1", "vi", "15/1 (15/1/2027)"),
    ("mùa vải năm sau", "vi", "mùa vải năm sau (2027)"),
    ("tháng 6/2027", "vi", "tháng 6/2027"),
    ("mùa vải", "vi", "mùa vải"),
    ("trước Tết", "vi", "trước Tết"),
    ("càng sớm càng tốt", "vi", "càng sớm càng tốt"),
    ("ngay", "vi", "ngay"),
    ("summer", "en", "summer"),
])
def test_time_frames_taken_with_the_month_or_date_they_mean(text: str, language: str, taken: str) -> None:
    assert parse_time_frame(text, TODAY, language) == taken
