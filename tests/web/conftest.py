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
