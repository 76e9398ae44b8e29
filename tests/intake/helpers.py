"""Helpers for the intake tests: an authenticated client and a lead builder."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from salesladder.org.services import api_token_create

LEADS_URL = "/api/v1/leads/"


class TokenClient:
    """A Django test client that sends ``Authorization: Bearer <key>``."""

    def __init__(self, user: Any, *, scopes: tuple[str, ...] = ("leads:write",), team: Any = None) -> None:
        self.token, self.key = api_token_create(user=user, name="test", scopes=scopes, team=team)
        self.client = Client()

    def post_raw(self, body: str | bytes, *, content_type: str = "application/json", **headers: str) -> Any:
        return self.client.post(
            LEADS_URL, data=body, content_type=content_type, headers={"Authorization": f"Bearer {self.key}", **headers}
        )

    def post(self, data: Any, **headers: str) -> Any:
        return self.post_raw(json.dumps(data), **headers)

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params, headers={"Authorization": f"Bearer {self.key}"})

    def post_json(self, url: str, data: Any) -> Any:
        return self.client.post(
            url, data=json.dumps(data), content_type="application/json", headers={"Authorization": f"Bearer {self.key}"}
        )


def lead(n: int, **fields: Any) -> dict[str, Any]:
    data = {
        "source": "webform",
        "external_id": f"L-{n}",
        "company": f"Company {n} Ltd",
        "contact_name": f"Person {n}",
        "email": f"person{n}@company{n}.example",
        "phone": "+86 21 5555 0000",
        "title": "CTO",
        "amount": "1200.00",
        "currency": "CNY",
        "notes": f"Lead number {n}",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}
