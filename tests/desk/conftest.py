"""The Zalo fixtures (the fake Zalo API and settings pointing at it), for the desk's Zalo-window test."""

from tests.zalo.conftest import zalo, zalo_settings  # noqa: F401
