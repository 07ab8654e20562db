"""OCOP certificates: when a recognition decision expires and what state it is in on a given day.

A certificate is valid for 36 months from the signing of the recognition decision (facts file, C1) unless the
source states another expiry date, which then wins. The state is computed when it is read, against today, so a
catalogue imported once never shows a lapsed certificate as valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

VALID_MONTHS = 36
EXPIRING_DAYS = 90  # "expiring" from this many days before the expiry date, the expiry day included
LEVELS = ("district", "province", "national")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    UNCONFIRMED = "unconfirmed"  # no recognition decision (number and date) on record


def today_in_vietnam() -> dt.date:
    """The department's calendar day, whatever the server's time zone."""
    return dt.datetime.now(VIETNAM).date()


@lru_cache(maxsize=8192)  # decisions sign many products on one day: counting 20,000 products stays cheap
def default_expiry(certified_on: dt.date) -> dt.date:
    """Decision date + 36 months; a day the month lacks becomes its last day (2020-02-29 → 2023-02-28)."""
    return certified_on + relativedelta(months=VALID_MONTHS)


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the catalogue holds about one product's recognition decision."""

    number: str = ""
    certified_on: dt.date | None = None
    level: str = ""
    expires_on_given: dt.date | None = None

    @property
    def confirmed(self) -> bool:
        """A decision number and a date to count its validity from (the decision's or the stated expiry)."""
        return bool(self.number) and (self.certified_on is not None or self.expires_on_given is not None)

    @property
    def expires_on(self) -> dt.date | None:
        if self.expires_on_given is not None:
            return self.expires_on_given
        return default_expiry(self.certified_on) if self.certified_on is not None else None

    def status(self, today: dt.date) -> CertificateStatus:
        return status_on(self.number, self.certified_on, self.expires_on_given, today)


def status_on(number: str, certified_on: dt.date | None, expires_given: dt.date | None,
              today: dt.date) -> CertificateStatus:
    """The state of a decision on `today` (what `Certificate.status` says, without building one)."""
    if expires_given is not None:
        expires = expires_given
    elif certified_on is not None:
        expires = default_expiry(certified_on)
    else:
        return CertificateStatus.UNCONFIRMED
    if not number:
        return CertificateStatus.UNCONFIRMED
    days_left = (expires - today).days
    if days_left < 0:
        return CertificateStatus.EXPIRED
    if days_left <= EXPIRING_DAYS:
        return CertificateStatus.EXPIRING
    return CertificateStatus.VALID


def product_status(product: object, today: dt.date) -> CertificateStatus:
    """The state of a product's certificate on `today` (cheap enough to count a national catalogue)."""
    return status_on(getattr(product, "certificate_no", ""), getattr(product, "certified_on", None),
                     getattr(product, "certificate_expires_on", None), today)


def certificate_of(product: object) -> Certificate:
    """The certificate fields of a product row (ORM object or anything with the same attributes)."""
    return Certificate(
        number=getattr(product, "certificate_no", "") or "",
        certified_on=getattr(product, "certified_on", None),
        level=getattr(product, "certificate_level", "") or "",
        expires_on_given=getattr(product, "certificate_expires_on", None),
    )


def certificate_problems(certified_on: dt.date | None, expires_on: dt.date | None, today: dt.date) -> list[tuple[str, str]]:
    """(column, reason) for certificate cells that cannot all be true; the importer reports them per row."""
    problems: list[tuple[str, str]] = []
    if certified_on is not None and certified_on > today:
        problems.append(("certified_on", f"decision date {certified_on.isoformat()} is in the future"))
    if certified_on is not None and expires_on is not None and expires_on <= certified_on:
        problems.append(("certificate_expires_on",
                         f"expiry {expires_on.isoformat()} is not after the decision date {certified_on.isoformat()}"))
    return problems
