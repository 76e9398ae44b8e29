from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from salesladder.org.models import User


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """``login(user)`` → the test client, logged in as ``user``."""

    def _login(user: User) -> Client:
        client.force_login(user)
        return client

    return _login


HX = {"HTTP_HX_REQUEST": "true"}


def hx(current_url: str = "http://testserver/pipeline/") -> dict[str, str]:
    """Headers htmx sends: the request marker and the page the request came from."""
    return {**HX, "HTTP_HX_CURRENT_URL": current_url}


@pytest.fixture(scope="session")
def compiled_translations() -> None:
    """Compile the .po catalogs when their .mo is missing or older (``make install`` normally does it)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from django.utils import translation
    from django.utils.translation import trans_real

    compiled = False
    for po in (Path(__file__).resolve().parents[2] / "locale").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            with mo.open("wb") as dst:
                write_mo(dst, catalog)
            compiled = True
    if compiled:  # drop catalogs Django loaded before the .mo existed
        trans_real._translations = {}
        trans_real._default = None
        translation.deactivate()
