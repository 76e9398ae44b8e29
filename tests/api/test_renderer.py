"""The API renders JSON with orjson (salesladder.api.renderers): the same bytes as DRF's JSONRenderer."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from salesladder.api.renderers import FastJSONRenderer
from tests.api.conftest import session_client

PAYLOAD = {
    "text": "签约和实施 — naïve ✓",
    "separators": "line\u2028paragraph\u2029end",
    "lazy": gettext_lazy("This field is required."),
    "amount": Decimal("48000.50"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "aware": datetime.datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=datetime.UTC),
    "local": timezone.localtime(datetime.datetime(2026, 3, 1, 2, 3, 4, tzinfo=datetime.UTC)),
    "day": datetime.date(2026, 11, 27),
    "time": datetime.time(8, 15, 30),
    "rates": [0.5, 0.4, 1 / 3, 100.0, 1e16],
    "nested": [{"ok": True, "none": None, "n": 2**62}, ()],
    "errors": {"leads.0.email": [gettext_lazy("Enter a valid email address.")]},
}


def test_same_bytes_as_drf_for_every_kind_of_value():
    assert FastJSONRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


def test_what_orjson_refuses_is_rendered_by_drf():
    odd = {1: "an integer key", "big": 2**70}
    assert (
        FastJSONRenderer().render(odd)
        == JSONRenderer().render(odd)
        == b'{"1":"an integer key","big":1180591620717411303424}'
    )


def test_tiny_floats_differ_in_notation_only():
    fast = FastJSONRenderer().render({"share": 2.5e-05})
    assert json.loads(fast) == json.loads(JSONRenderer().render({"share": 2.5e-05})) == {"share": 2.5e-05}


def test_an_indented_answer_on_request_and_nothing_for_none():
    renderer = FastJSONRenderer()
    indented = renderer.render({"a": [1]}, "application/json; indent=2", {})
    assert indented == b'{\n  "a": [\n    1\n  ]\n}'
    assert renderer.render(None) == b""


@pytest.mark.django_db
def test_the_api_answers_with_it(org, monkeypatch):
    """The deal list, a 400 with field errors and me/ read the same as with DRF's own renderer."""
    client = session_client(org.manager)
    urls = ["/api/v1/deals/?page_size=5", "/api/v1/deals/?owner=999999", "/api/v1/me/"]
    fast = [client.get(url) for url in urls]
    monkeypatch.setattr(APIView, "renderer_classes", [JSONRenderer])
    plain = [client.get(url) for url in urls]

    assert {type(r.accepted_renderer) for r in fast} == {FastJSONRenderer}
    assert {type(r.accepted_renderer) for r in plain} == {JSONRenderer}
    assert [r.status_code for r in fast] == [200, 400, 200]
    assert "owner" in fast[1].json()["errors"]
    assert [r.content for r in fast] == [r.content for r in plain]
