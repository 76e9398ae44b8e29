"""Two nightly runs at once (beat and a manual run_nightly) never duplicate a review."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from reviews.models import Review
from reviews.services import review_drafts_create
from targets.periods import Period


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # conftest reloads the data-migration defaults
def test_concurrent_draft_runs_create_each_review_once(org):
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []
    created: list[int] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            created.append(len(review_drafts_create(period=Period.parse("2026-10"), as_of=date(2026, 10, 31))))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sum(created) == 4
    assert Review.objects.filter(period="2026-10").count() == 4
