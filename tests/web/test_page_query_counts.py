"""Every list and detail page that shows a list answers in the same number of queries with 2 rows or 40
(and pages long lists): the account and contact pages, the drill-down, the quarantine, the import page,
the review page and the profile's tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipeline.models import Account, Contact, ImportJob, IntakeRecord, IntakeStatus, Stage
from reviews.models import ActionItem, CycleKind, Review, ReviewCycle
from salesladder.org.services import api_token_create
from targets.periods import Period
from tests.factories import make_deal

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries), response.content.decode()


def _grow(client, url: Callable[[], str], add: Callable[[range], None]) -> tuple[int, int, str]:
    """Queries with 2 items (numbered 0-1), then with 40 (0-39): both counts and the second page's HTML."""
    add(range(2))
    few, _html = _queries(client, url())
    add(range(2, 40))
    many, html = _queries(client, url())
    return few, many, html


def test_account_and_contact_pages(login, org):
    account = Account.objects.create(name="Acme", normalized_name="acme", owner=org.alice)
    contact = Contact.objects.create(account=account, name="Ann")
    client = login(org.manager)

    def deals(numbers: range) -> None:
        for i in numbers:
            make_deal(owner=org.alice, account=account, contact=contact, title=f"Deal {i}")

    few, many, html = _grow(client, lambda: f"/accounts/{account.pk}/", deals)
    contact_few, contact_many = _queries(client, f"/contacts/{contact.pk}/")[0], None
    for i in range(60):
        Contact.objects.create(account=account, name=f"Person {i}")
    contact_many, _ = _queries(client, f"/contacts/{contact.pk}/")
    account_page = client.get(f"/accounts/{account.pk}/").content.decode()

    assert few == many
    assert contact_few == contact_many
    assert "Page 1 of 2 (40 items)" in html  # 25 a page
    assert 'data-testid="all-contacts"' in account_page  # 61 contacts: the first 50 and a link


def test_drill_down(login, org):
    client = login(org.manager)
    url = f"/dashboard/deals/?team={org.east.pk}&period={Period.current().key}&stage=prep"

    def deals(numbers: range) -> None:
        for i in numbers:
            make_deal(owner=org.alice if i % 2 else org.bob, stage=Stage.PREP, title=f"Prep {i}")

    few, many, html = _grow(client, lambda: url, deals)

    assert few == many
    assert "Prep 39" in html


def test_quarantine_and_import_pages(login, org):
    client = login(org.manager)

    def records(numbers: range) -> None:
        start, n = numbers.start, len(numbers)
        IntakeRecord.objects.bulk_create(
            IntakeRecord(
                status=IntakeStatus.ERROR,
                source="expo",
                external_id=str(start + i),
                team=org.east,
                batch_id=uuid.uuid4(),
                actor=org.manager,
                payload={"source": "expo", "external_id": str(start + i)},
                errors={"company": ["Required."]},
            )
            for i in range(n)
        )
        ImportJob.objects.bulk_create(
            ImportJob(filename=f"f{start + i}.csv", data=b"a\n1\n", created_by=org.manager) for i in range(n)
        )

    few, many, html = _grow(client, lambda: "/leads/quarantine/", records)
    assert few == many
    assert html.count("Required.") == 40
    import_few, _ = _queries(client, "/leads/import/")
    records(range(40, 45))
    import_many, _ = _queries(client, "/leads/import/")
    assert import_few == import_many


def test_review_page_and_profile_tokens(login, org):
    cycle = ReviewCycle.objects.create(team=org.east, kind=CycleKind.MONTH)
    review = Review.objects.create(cycle=cycle, user=org.alice, period="2026-10")
    client = login(org.manager)

    def items(numbers: range) -> None:
        for i in numbers:
            ActionItem.objects.create(review=review, text=f"Item {i}")

    few, many, html = _grow(client, lambda: f"/reviews/{review.pk}/", items)
    assert few == many
    assert "Item 39" in html

    def tokens(numbers: range) -> None:
        for i in numbers:
            api_token_create(user=org.manager, name=f"key {i}", scopes=[])

    few, many, html = _grow(client, lambda: "/profile/", tokens)
    assert few == many
    assert "key 39" in html
