"""A sweep over every browser page: hostile query strings and garbage form posts never end in a server
error, for a rep and a manager (an admin sees the manager's pages with a wider scope). A 500 is what a
user notices worst (a blank error page, the work they typed lost); every other answer — the page, a
redirect, a field error, 403/404/405/409/413/429 — is one the pages are built to give.

The lists below are what a broken link, a stale bookmark, a browser extension or a curious user sends:
non-numbers where numbers go, impossible dates and periods, unknown choices, NUL bytes (PostgreSQL
refuses them in text), very long strings, negative and huge numbers, NaN. Run on PostgreSQL in CI."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from pipeline.models import ImportJob, IntakeRecord, IntakeStatus
from reviews.models import Review
from reviews.services import action_item_add, review_drafts_create
from salesladder.org.models import ApiToken
from salesladder.org.services import api_token_create
from targets.views.dashboard import EXPORTS, SECTIONS
from tests.factories import ActivityFactory, ContactFactory, make_deal

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = [
    "abc",
    "0",
    "-1",
    "99999999999999999999",
    "2026-13",
    "2026-W54",
    "2026-02-30",
    "NaN",
    "\x00",
    "é" * 3000,
]
POSTED_VALUES = [v for v in HOSTILE_VALUES if v not in ("0", "2026-13", "2026-W54")]  # those matter in queries
QUERY_KEYS = [
    "page",
    "sort",
    "q",
    "period",
    "team",
    "user",
    "owner",
    "stage",
    "status",
    "view",
    "as_of",
    "edit_item",
    "format",
    "next",
    "account",
    "channel",
    "stale",
]
FORM_KEYS = [
    "title",
    "amount",
    "currency",
    "stage",
    "expected_stage",
    "expected_close_date",
    "signed_on",
    "contract_amount",
    "owner",
    "team",
    "account",
    "contact",
    "name",
    "email",
    "phone",
    "kind",
    "subject",
    "due_at",
    "lost_reason",
    "lost_note",
    "reason",
    "rating",
    "manager_comment",
    "rep_comment",
    "text",
    "due_date",
    "period",
    "action",
    "template",
    "confirm",
    "acknowledge",
    "q-1-prep",
    "signings",
    "scopes",
    "new_password1",
    "new_password2",
    "old_password",
    "map-source",
    "map-external_id",
    "source",
    "external_id",
    "company",
]
ALLOWED = {200, 302, 400, 403, 404, 405, 409, 413, 429}
SKIP = {"logout", "set_language"}  # logging out / switching language mid-sweep changes who the next request is


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            found += _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.name:
            found.append((prefix + str(p.pattern), p.name))
    return found


def _page_urls(ids: dict[str, int]) -> list[str]:
    """Every named page outside the API and the admin, with real ids of objects the sweep made (and a
    missing id, 999999, for each)."""
    urls = set()
    for pattern, name in _patterns(get_resolver()):
        if pattern.startswith(("api/", "admin/", "static/")) or name in SKIP:
            continue
        for missing in (False, True):
            url = pattern
            for key, value in ids.items():
                url = url.replace(f"<int:{key}>", "999999" if missing else str(value))
            url = url.replace("<slug:section>", "{section}").replace("<slug:table>", "{table}")
            url = url.replace("<uidb64>", "MQ").replace("<token>", "set-password")
            for section in SECTIONS:
                for table in EXPORTS:
                    urls.add("/" + url.format(section=section, table=table))
    return sorted(urls)


@pytest.fixture
def world(org, django_capture_on_commit_callbacks) -> dict[str, Any]:
    deal = make_deal(owner=org.alice, stage="needs")
    activity = ActivityFactory(deal=deal)
    contact = ContactFactory(account=deal.account)
    (review, *_rest) = [r for r in review_drafts_create(period="2026-10") if r.user_id == org.alice.pk]
    item = action_item_add(review=review, actor=org.manager, text="Call three prospects a day")
    api_token_create(user=org.manager, name="sweep")
    token_pk = ApiToken.objects.get(user=org.manager).pk
    manager = Client()
    manager.force_login(org.manager)
    upload = SimpleUploadedFile("leads.csv", b"Source,Lead ID,Company,Email\nexpo,1,Acme,bad-email\n", "text/csv")
    manager.post("/leads/import/", {"file": upload})
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"/leads/import/{job.pk}/mapping/", {f"map-{k}": v for k, v in job.mapping.items()})
    record = IntakeRecord.objects.get(status=IntakeStatus.ERROR)
    assert Review.objects.filter(pk=review.pk).exists()
    return {
        "ids": {
            "pk": deal.pk,  # <int:pk> is a deal, account, contact, review, job or record by URL: one id each
            "activity_pk": activity.pk,
            "item_pk": item.pk,
        },
        "pks": {
            "deals": deal.pk,
            "accounts": deal.account_id,
            "contacts": contact.pk,
            "reviews": review.pk,
            "leads/import": job.pk,
            "leads/quarantine": record.pk,
            "profile/tokens": token_pk,
        },
    }


def _with_real_pk(url: str, pks: dict[str, int]) -> str:
    """``/reviews/<deal's pk>/`` is a missing review, not a real one: put each URL family's own id in."""
    for prefix, pk in pks.items():
        head = f"/{prefix}/"
        if url.startswith(head) and not url.startswith(head + "999999"):
            rest = url[len(head) :]
            number, _slash, tail = rest.partition("/")
            if number.isdigit():
                return f"{head}{pk}/{tail}"
    return url


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_no_page_answers_a_server_error_to_hostile_input(org, world, who, django_capture_on_commit_callbacks):
    client = Client(raise_request_exception=False)
    client.force_login(getattr(org, who))
    urls = [_with_real_pk(u, world["pks"]) for u in _page_urls(world["ids"])]
    assert len(urls) > 50  # the sweep really covers the site
    failures: list[str] = []

    def check(method: str, url: str, response: Any, sent: str) -> None:
        if response.status_code not in ALLOWED:
            failures.append(f"{method} {url} {sent!r} → {response.status_code}")

    with django_capture_on_commit_callbacks(execute=True):
        for url in urls:
            if "/999999" in url:  # a missing object: one look is enough
                check("GET", url, client.get(url, {"page": "abc"}), "page=abc")
                check("POST", url, client.post(url, dict.fromkeys(FORM_KEYS, "abc")), "abc")
                continue
            for value in HOSTILE_VALUES:  # every parameter at once, then each alone with the worst values
                check("GET", url, client.get(url, dict.fromkeys(QUERY_KEYS, value)), f"all={value[:12]}")
            for key in QUERY_KEYS:
                for value in ("abc", "²", "\x00"):
                    check("GET", url, client.get(url, {key: value}), f"{key}={value[:12]}")
            check("POST", url, client.post(url, {}), "empty")
            for value in POSTED_VALUES:
                check("POST", url, client.post(url, dict.fromkeys(FORM_KEYS, value)), value[:12])
            for value in ("abc", "\x00"):
                htmx = client.post(url, dict.fromkeys(FORM_KEYS, value), HTTP_HX_REQUEST="true")
                check("POST+htmx", url, htmx, value[:12])

    assert failures == []
