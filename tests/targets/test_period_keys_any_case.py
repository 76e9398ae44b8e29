"""Period keys in either case: ``2026-q4`` and ``2026-w48`` are ``2026-Q4`` and ``2026-W48`` wherever a period is
read from the user (API query parameters and bodies, snapshot reads, browser pages), and every answer, link and
stored row carries the canonical key."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from pipeline.models import Stage
from targets.models import Quota
from targets.periods import Period, PeriodKind
from targets.quota_services import quota_set
from targets.services import nightly_run
from tests.factories import make_deal
from tests.targets.builders import set_quotas

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    c = APIClient()
    c.force_login(user)
    return c


QUARTER = Period.current(PeriodKind.QUARTER)
WEEK = Period.current(PeriodKind.WEEK)


@pytest.fixture
def figures(org):
    """alice has quotas for this quarter and this week and deals climbing in both."""
    set_quotas(user=org.alice, period=QUARTER)
    set_quotas(user=org.alice, period=WEEK)
    make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Beta")
    return org


@pytest.mark.parametrize("period", [QUARTER, WEEK], ids=["quarter", "week"])
@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("/api/v1/funnel/", {"team": "east"}),
        ("/api/v1/attainment/", {"team": "east"}),
        ("/api/v1/outcomes/", {"team": "east"}),
        ("/api/v1/planner/", {"team": "east", "signings": 3}),
    ],
)
def test_analytics_read_a_lower_case_key_as_the_canonical_one(figures, period, endpoint, params):
    params = {**params, "team": figures.east.pk}
    c = api(figures.manager)

    canonical = c.get(endpoint, {**params, "period": period.key})
    lower = c.get(endpoint, {**params, "period": period.key.lower()})

    assert canonical.status_code == 200, canonical.content
    assert lower.status_code == 200, lower.content
    assert lower.json() == canonical.json()
    assert lower.json()["period"] == period.key


def test_funnel_figures_of_a_lower_case_quarter_are_the_quarters(figures):
    body = api(figures.manager).get("/api/v1/funnel/", {"period": QUARTER.key.lower(), "user": figures.alice.pk}).json()

    assert body["period"] == QUARTER.key
    entered = {s["stage"]: s["entered"] for s in body["stages"]}
    assert (entered["prep"], entered["contact"], entered["needs"]) == (2, 2, 1)
    assert [s["quota"] for s in body["stages"]] == [100, 50, 20, 10, 5, 3]


def test_as_of_reads_the_snapshot_stored_under_the_canonical_key(org):
    # given: a quarter with quotas (so the nightly run snapshots quarters) and a snapshot of a day in it
    quarter = QUARTER.previous()
    day = quarter.start + timedelta(days=20)
    set_quotas(user=org.alice, period=quarter)
    make_deal(owner=org.alice, stage=Stage.CONTACT, at=quarter.bounds()[0] + timedelta(days=2))
    nightly_run(run_date=day)
    c = api(org.manager)

    # when
    canonical = c.get("/api/v1/funnel/", {"period": quarter.key, "user": org.alice.pk, "as_of": day.isoformat()})
    lower = c.get("/api/v1/funnel/", {"period": quarter.key.lower(), "user": org.alice.pk, "as_of": day.isoformat()})

    # then
    assert canonical.status_code == 200, canonical.content
    assert lower.status_code == 200, lower.content
    assert lower.json() == canonical.json()
    assert [s["entered"] for s in lower.json()["stages"]][:3] == [1, 1, 0]


def test_period_detail_answers_the_canonical_key(org):
    response = api(org.alice).get(f"/api/v1/periods/{WEEK.key.lower()}/")

    assert response.status_code == 200
    assert response.json()["key"] == WEEK.key


def test_quotas_written_with_a_lower_case_key_are_stored_under_the_canonical_one(org):
    c = api(org.manager)

    created = c.post(
        "/api/v1/targets/",
        {"period": QUARTER.key.lower(), "user": org.alice.pk, "stage": "prep", "value": 40},
        format="json",
    )
    grid = c.get("/api/v1/targets/grid/", {"team": org.east.pk, "period": QUARTER.key.lower()})

    assert created.status_code == 201, created.content
    assert created.json()["period"] == QUARTER.key
    assert list(Quota.objects.values_list("period", flat=True)) == [QUARTER.key]
    assert grid.status_code == 200, grid.content
    assert grid.json()["period"] == QUARTER.key
    alice = next(row for row in grid.json()["rows"] if row["user"] == org.alice.pk)
    assert alice["quotas"]["prep"] == 40


def test_the_schema_pattern_admits_either_case(org):
    schema = api(org.admin).get("/api/schema/", {"format": "json"}).json()
    funnel = schema["paths"]["/api/v1/funnel/"]["get"]["parameters"]
    pattern = next(p for p in funnel if p["name"] == "period")["schema"]["pattern"]

    for key in ("2026-Q4", "2026-q4", "2026-W48", "2026-w48", "2026-11"):
        assert re.match(pattern, key), key
    assert not re.match(pattern, "2026-x4")


def test_dashboard_reached_with_a_lower_case_key_shows_the_canonical_periods_figures(client, figures):
    quota_set(period=QUARTER, stage="prep", value=7, user=figures.bob, actor=figures.admin)
    client.force_login(figures.manager)

    canonical = client.get("/dashboard/", {"team": figures.east.pk, "period": QUARTER.key})
    lower = client.get("/dashboard/", {"team": figures.east.pk, "period": QUARTER.key.lower()})

    assert lower.status_code == canonical.status_code == 200
    html = lower.content.decode()
    assert 'data-testid="entered-prep">2<' in html
    assert lower.context["period"] == canonical.context["period"] == QUARTER
    assert not lower.context["period_error"]
    # links, picker and exports carry the canonical key (the language switcher returns to the URL as typed)
    links = re.findall(r'(?:href|hx-get|value)="([^"]*)"', html.replace('name="next" type="hidden" value="', ""))
    assert any(QUARTER.key in link for link in links)
    assert not [link for link in links if QUARTER.key.lower() in link]
    drill = client.get("/dashboard/deals/", {"team": figures.east.pk, "period": QUARTER.key.lower(), "stage": "prep"})
    assert drill.status_code == 200
    assert "Alpha" in drill.content.decode()


def test_targets_page_saves_a_lower_case_period_under_the_canonical_key(client, org):
    client.force_login(org.manager)

    response = client.post(
        f"/targets/?team={org.east.pk}&period={WEEK.key.lower()}",
        {"action": "save", f"q-{org.alice.pk}-prep": "12"},
    )

    assert response.status_code == 302
    assert f"period={WEEK.key}" in response.url
    assert list(Quota.objects.values_list("period", "value")) == [(WEEK.key, 12)]
