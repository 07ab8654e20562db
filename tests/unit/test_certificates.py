"""Certificate arithmetic: 36 months from the decision (month ends, leap years), a stated expiry, the states."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.certificates import Certificate, CertificateStatus, certificate_problems, default_expiry

D = dt.date


@pytest.mark.parametrize(("signed", "expires"), [
    (D(2021, 12, 9), D(2024, 12, 9)),     # the demo's Decision 1387/QĐ-UBND
    (D(2021, 11, 30), D(2024, 11, 30)),   # a month end that exists three years on
    (D(2021, 8, 31), D(2024, 8, 31)),
    (D(2020, 2, 29), D(2023, 2, 28)),     # leap day → the last day of a February without one
    (D(2021, 2, 28), D(2024, 2, 28)),     # into a leap year: the same day, not the 29th
    (D(2022, 5, 31), D(2025, 5, 31)),
    (D(2023, 1, 31), D(2026, 1, 31)),
])
def test_expiry_is_the_decision_date_plus_36_months(signed: dt.date, expires: dt.date) -> None:
    assert default_expiry(signed) == expires
    assert Certificate("1/QĐ-UBND", signed).expires_on == expires


def test_a_stated_expiry_wins_over_the_computed_one() -> None:
    cert = Certificate("1387/QĐ-UBND", D(2021, 12, 9), "province", D(2025, 6, 30))
    assert cert.expires_on == D(2025, 6, 30)
    assert cert.status(D(2025, 6, 30)) is CertificateStatus.EXPIRING
    assert cert.status(D(2025, 7, 1)) is CertificateStatus.EXPIRED


def test_status_boundaries_around_the_expiry_day() -> None:
    cert = Certificate("1387/QĐ-UBND", D(2021, 12, 9), "province")
    expires = D(2024, 12, 9)
    assert cert.status(expires - dt.timedelta(days=91)) is CertificateStatus.VALID
    assert cert.status(expires - dt.timedelta(days=90)) is CertificateStatus.EXPIRING
    assert cert.status(expires - dt.timedelta(days=1)) is CertificateStatus.EXPIRING
    assert cert.status(expires) is CertificateStatus.EXPIRING  # valid through its expiry day
    assert cert.status(expires + dt.timedelta(days=1)) is CertificateStatus.EXPIRED
    assert cert.status(D(2026, 12, 5)) is CertificateStatus.EXPIRED
    assert cert.status(D(2021, 12, 9)) is CertificateStatus.VALID


def test_without_a_decision_number_and_date_it_is_not_confirmed() -> None:
    today = D(2026, 12, 5)
    assert Certificate().status(today) is CertificateStatus.UNCONFIRMED
    assert Certificate("", D(2025, 1, 1)).status(today) is CertificateStatus.UNCONFIRMED  # a date alone
    assert Certificate("590/QĐ-UBND").status(today) is CertificateStatus.UNCONFIRMED  # a number alone
    assert not Certificate("590/QĐ-UBND").confirmed
    # A number with a stated expiry is enough to know until when it holds.
    assert Certificate("7/QĐ", None, "", D(2027, 6, 1)).status(today) is CertificateStatus.VALID


def test_row_checks_name_the_column_and_the_reason() -> None:
    today = D(2026, 12, 5)
    assert certificate_problems(D(2021, 12, 9), None, today) == []
    assert certificate_problems(today, None, today) == []
    assert certificate_problems(D(2026, 12, 6), None, today) == [
        ("certified_on", "decision date 2026-12-06 is in the future")]
    assert certificate_problems(D(2021, 12, 9), D(2021, 12, 9), today) == [
        ("certificate_expires_on", "expiry 2021-12-09 is not after the decision date 2021-12-09")]
    assert certificate_problems(D(2021, 12, 9), D(2020, 1, 1), today)[0][0] == "certificate_expires_on"


def test_a_replys_photo_survives_the_durable_inbox() -> None:
    from handlers.messages import Button, Reply, reply_dump, reply_load

    reply = Reply("<b>Dưa kim</b>", [[Button("Nơi mua", "where:dua-kim-hoang-hau")]], image="photos/dua-kim.png")
    again = reply_load(reply_dump(reply))
    assert (again.text, again.image, again.buttons) == (reply.text, "photos/dua-kim.png", reply.buttons)
    assert not reply_load(reply_dump(Reply("x"))).image
    assert Reply("x", image="https://example.org/a.jpg").image_is_url and not again.image_is_url
