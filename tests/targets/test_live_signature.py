"""Live funnel and attainment start from last night's snapshot only while what no delta of new transitions
shows is unchanged (the team tree, deleted deals); otherwise they are computed from the history at once."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.models import Stage
from targets.periods import Period
from targets.services import nightly_run
from tests.factories import make_deal

pytestmark = pytest.mark.django_db


def _admin(org) -> APIClient:  # type: ignore[no-untyped-def]
    c = APIClient()
    c.force_login(org.admin)
    return c


def _entered(c: APIClient, **scope: int) -> list[int]:
    response = c.get("/api/v1/funnel/", {"period": Period.current().key, **scope})
    assert response.status_code == 200, response.content
    return [s["entered"] for s in response.json()["stages"]]


def _totals(c: APIClient, **scope: int) -> list[int]:
    response = c.get("/api/v1/attainment/", {"period": Period.current().key, **scope})
    assert response.status_code == 200, response.content
    return [row["entered"] for row in response.json()["totals"]]


@pytest.fixture
def base(org):  # type: ignore[no-untyped-def]
    """alice's deal in needs (East), two of dave's in contact (West), then last night's run."""
    make_deal(owner=org.alice, stage=Stage.NEEDS)
    dave = [make_deal(owner=org.dave, stage=Stage.CONTACT) for _ in range(2)]
    nightly_run(run_date=timezone.localdate())
    return dave


def test_a_team_moved_under_another_counts_there_at_once(org, base):  # type: ignore[no-untyped-def]
    c = _admin(org)
    assert _entered(c, team=org.east.pk) == [1, 1, 1, 0, 0, 0]

    # when: West (dave) becomes a sub-team of East
    response = c.patch(f"/api/v1/teams/{org.west.pk}/", {"parent": org.east.pk}, format="json")
    assert response.status_code == 200, response.content

    # then: East's live figures include West's transitions (as a full computation of the history does)
    assert _entered(c, team=org.east.pk) == [3, 3, 1, 0, 0, 0]
    assert _totals(c, team=org.east.pk) == [3, 3, 1, 0, 0, 0]
    body = c.get("/api/v1/funnel/", {"period": Period.current().key, "team": org.east.pk}).json()
    assert body["medians_as_of"] is None  # computed from the history, not from last night's rows


def test_a_deleted_deal_leaves_the_live_figures_at_once(org, base):  # type: ignore[no-untyped-def]
    c = _admin(org)
    assert _entered(c, team=org.west.pk) == [2, 2, 0, 0, 0, 0]
    assert _entered(c) == [3, 3, 1, 0, 0, 0]

    base[0].delete()

    assert _entered(c, team=org.west.pk) == [1, 1, 0, 0, 0, 0]
    assert _totals(c, team=org.west.pk) == [1, 1, 0, 0, 0, 0]
    assert _entered(c, user=org.dave.pk) == [1, 1, 0, 0, 0, 0]
    assert _entered(c) == [2, 2, 1, 0, 0, 0]


def test_unchanged_tree_keeps_building_on_last_nights_rows(org, base):  # type: ignore[no-untyped-def]
    c = _admin(org)
    make_deal(owner=org.dave, stage=Stage.PREP)

    body = c.get("/api/v1/funnel/", {"period": Period.current().key, "team": org.west.pk}).json()

    assert [s["entered"] for s in body["stages"]] == [3, 2, 0, 0, 0, 0]
    assert body["medians_as_of"] == timezone.localdate().isoformat()
