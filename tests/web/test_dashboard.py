"""The team dashboard: roles and scope, figures equal the targets services, drill-down, CSV exports, queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from pipeline.models import Stage
from pipeline.services import deal_move
from targets.models import IncentiveTier, Quota
from targets.periods import Period
from targets.selectors.funnel import attainment, funnel
from targets.selectors.scope import Scope
from tests.factories import make_deal, rep

pytestmark = pytest.mark.django_db

STAGES = list(Stage.values)


def _ladder(user, period: Period, values=(10, 5, 2, 1, 1, 1)) -> None:
    Quota.objects.bulk_create(
        [Quota(period=period.key, user=user, stage=s, value=v) for s, v in zip(STAGES, values, strict=True)]
    )


def _csv(response) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # Excel needs the BOM to read UTF-8 (Chinese) correctly
    return list(csv.reader(io.StringIO(body[1:])))


def test_manager_home_redirects_to_dashboard(login, org):
    response = login(org.manager).get("/")
    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_rep_is_sent_to_their_pipeline(login, org):
    response = login(org.alice).get("/dashboard/")
    assert response.status_code == 302
    assert response.url == reverse("pipeline:board")


def test_dashboard_shows_team_figures_and_links_to_deals(login, org):
    period = Period.current()
    _ladder(org.alice, period)
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")
    make_deal(owner=org.bob, stage=Stage.PREP, title="Beta")
    make_deal(owner=org.nina, stage=Stage.NEEDS, title="Nina's")  # sub-team East North counts for East
    make_deal(owner=org.dave, stage=Stage.SIGNING, title="West deal")

    response = login(org.manager).get("/dashboard/", {"team": org.east.pk, "period": period.key})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="entered-prep">3<' in html
    assert 'data-testid="entered-contact">2<' in html
    assert 'data-testid="entered-signing">0<' in html
    assert f'data-testid="cell-{org.alice.pk}-contact">1<' in html
    assert "West deal" not in html
    assert ">dave<" not in html
    assert 'data-testid="rep-nina"' in html  # sub-team reps are in the grid
    assert "First contact" in html  # stage labels from the configuration
    assert f"/dashboard/deals/?team={org.east.pk}&amp;period={period.key}&amp;stage=contact" in html


def test_dashboard_figures_equal_the_targets_services(login, org):
    period = Period.current()
    _ladder(org.alice, period)
    _ladder(org.bob, period, (4, 4, 4, 4, 4, 4))
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS)
    deal_move(deal=deal, to_stage=Stage.PROPOSAL, actor=org.alice, fields={"needs_summary": "Pilot", "amount": 5})
    make_deal(owner=org.bob, stage=Stage.CONTACT)
    Quota.objects.create(period=period.key, team=org.east, stage=Stage.PREP, value=99)

    context = login(org.manager).get("/dashboard/", {"team": org.east.pk}).context
    data = context["data"]

    expected = funnel(scope=Scope.for_team(org.east), period=period)
    assert [(s.stage, s.entered, s.conversion_to_next, s.cohort_reached, s.quota) for s in data.stages] == [
        (s.stage, s.entered, s.conversion_to_next, s.cohort_reached, s.quota) for s in expected.stages
    ]
    assert data.stages[0].quota == 99  # an explicit team quota overrides the sum
    expected_att = attainment(scope=Scope.for_team(org.east), period=period)
    got = {(c.user, c.stage): (c.entered, c.quota, c.pace_status) for r in data.reps for c in r.cells}
    assert got == {(r.user, r.stage): (r.entered, r.quota, r.pace_status) for r in expected_att.rows}


def test_cohort_view_lists_reached_counts(login, org):
    deal = make_deal(owner=org.alice, stage=Stage.PREP)
    deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice)
    make_deal(owner=org.bob, stage=Stage.PREP)

    html = login(org.manager).get("/dashboard/", {"team": org.east.pk, "view": "cohort"}).content.decode()

    assert 'data-testid="cohort-prep">2<' in html
    assert 'data-testid="cohort-contact">1<' in html
    assert "50 %" in html


def test_pace_colours_cells(login, org, settings):
    period = Period.parse("2026-10")  # a past period: fully elapsed, so pace = attainment
    _ladder(org.alice, period, (1, 4, 1, 1, 1, 1))
    deal = make_deal(owner=org.alice, stage=Stage.PREP)
    Quota.objects.filter(user=org.alice)  # noqa: B018
    deal.transitions.update(occurred_at="2026-10-10T10:00:00+08:00")
    deal2 = make_deal(owner=org.alice, stage=Stage.CONTACT)
    deal2.transitions.update(occurred_at="2026-10-11T10:00:00+08:00")

    html = login(org.manager).get("/dashboard/", {"team": org.east.pk, "period": "2026-10"}).content.decode()

    row = html[html.index('data-testid="rep-alice"') :]
    row = row[: row.index("</tr>")]
    assert "pace-on_track" in row  # prep: 2 of 1
    assert "pace-at_risk" in row  # contact: 1 of 4
    assert "On track" in row
    assert "At risk" in row


def test_other_teams_and_bad_values_are_404(login, org):
    client = login(org.manager)
    assert client.get("/dashboard/", {"team": org.west.pk}).status_code == 404
    assert client.get("/dashboard/", {"team": "abc"}).status_code == 404
    assert client.get("/dashboard/section/trend/", {"team": org.west.pk}).status_code == 404
    assert client.get("/dashboard/export/funnel.csv", {"team": org.west.pk}).status_code == 404
    assert client.get("/dashboard/export/secrets.csv", {"team": org.east.pk}).status_code == 404
    assert client.get("/dashboard/deals/", {"team": org.west.pk, "stage": "prep"}).status_code == 404
    assert (
        client.get("/dashboard/deals/", {"team": org.east.pk, "stage": "prep", "user": org.dave.pk}).status_code == 404
    )


def test_bad_period_is_400_with_a_message(login, org):
    response = login(org.manager).get("/dashboard/", {"team": org.east.pk, "period": "2026-13"})
    assert response.status_code == 400
    assert "Use a month (2026-11)" in response.content.decode()


def test_sub_team_manager_sees_only_their_team(login, org):
    client = login(org.north_manager)
    html = client.get("/dashboard/").content.decode()
    assert 'data-testid="rep-nina"' in html
    assert 'data-testid="rep-alice"' not in html
    assert client.get("/dashboard/", {"team": org.east.pk}).status_code == 404


def test_admin_picks_any_team(login, org):
    make_deal(owner=org.dave, stage=Stage.PREP)
    html = login(org.admin).get("/dashboard/", {"team": org.west.pk}).content.decode()
    assert 'data-testid="rep-dave"' in html
    assert 'data-testid="entered-prep">1<' in html


def test_drill_down_lists_the_deals_behind_a_number(login, org):
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")
    make_deal(owner=org.bob, stage=Stage.CONTACT, title="Beta")
    make_deal(owner=org.bob, stage=Stage.PREP, title="Gamma")
    make_deal(owner=org.dave, stage=Stage.CONTACT, title="West")
    client = login(org.manager)

    team_html = client.get("/dashboard/deals/", {"team": org.east.pk, "stage": "contact"}).content.decode()
    rep_html = client.get(
        "/dashboard/deals/", {"team": org.east.pk, "stage": "contact", "user": org.alice.pk}
    ).content.decode()

    assert "Alpha" in team_html
    assert "Beta" in team_html
    assert "Gamma" not in team_html
    assert "West" not in team_html
    assert "Alpha" in rep_html
    assert "Beta" not in rep_html


def test_drill_down_csv(login, org):
    make_deal(owner=org.alice, stage=Stage.PREP, title="北京项目")
    response = login(org.manager).get("/dashboard/deals/", {"team": org.east.pk, "stage": "prep", "format": "csv"})
    rows = _csv(response)
    assert rows[0][0] == "Deal"
    assert rows[1][0] == "北京项目"


def test_csv_exports_of_funnel_and_attainment(login, org):
    period = Period.current()
    _ladder(org.alice, period)
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    client = login(org.manager)

    funnel_rows = _csv(client.get("/dashboard/export/funnel.csv", {"team": org.east.pk, "period": period.key}))
    att_rows = _csv(client.get("/dashboard/export/attainment.csv", {"team": org.east.pk, "period": period.key}))

    assert funnel_rows[0][:3] == ["Stage", "Entered", "Conversion to next"]
    assert funnel_rows[1][:3] == ["Preparation (research)", "1", "100 %"]
    assert ["alice", "First contact", "1", "5", "20 %"] == att_rows[
        [r[:2] for r in att_rows].index(["alice", "First contact"])
    ][:5]
    assert att_rows[-1][0] == "East"


def test_csv_export_in_chinese_keeps_chinese_labels(login, org):
    make_deal(owner=org.alice, stage=Stage.PREP)
    client = login(org.manager)
    response = client.get("/dashboard/export/funnel.csv", {"team": org.east.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    rows = _csv(response)
    assert rows[1][0] == "销售前期准备"


def test_trend_section_and_export(login, org):
    make_deal(owner=org.alice, stage=Stage.CONTACT)
    period = Period.current()
    client = login(org.manager)

    html = client.get("/dashboard/section/trend/", {"team": org.east.pk, "period": period.key}).content.decode()
    rows = _csv(client.get("/dashboard/export/trend.csv", {"team": org.east.pk, "period": period.key}))

    assert html.count("<tr") == 7  # header + 6 periods
    assert period.previous().key in html
    assert [r[0] for r in rows[1:]] == [p.key for p in period.last(6)]
    assert rows[-1][1:3] == ["1", "1"]


def test_stale_section_lists_quiet_deals(login, org):
    from datetime import timedelta

    from django.utils import timezone

    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Quiet one")
    deal.__class__.objects.filter(pk=deal.pk).update(
        created_at=timezone.now() - timedelta(days=40), last_activity_at=timezone.now() - timedelta(days=40)
    )
    make_deal(owner=org.bob, stage=Stage.PREP, title="Fresh one")
    client = login(org.manager)

    html = client.get("/dashboard/section/stale/", {"team": org.east.pk}).content.decode()
    rows = _csv(client.get("/dashboard/export/stale.csv", {"team": org.east.pk}))

    assert "Quiet one" in html
    assert "Fresh one" not in html
    assert rows[1][0] == "Quiet one"


def test_tier_section_shows_reached_tier_and_gap(login, org):
    period = Period.current()
    IncentiveTier.objects.create(period=period.key, threshold=1, name="Bronze", reward="Dinner")
    IncentiveTier.objects.create(period=period.key, threshold=3, name="Silver")
    make_deal(owner=org.alice, stage=Stage.SIGNING)
    client = login(org.manager)

    html = client.get("/dashboard/section/tiers/", {"team": org.east.pk, "period": period.key}).content.decode()
    rows = _csv(client.get("/dashboard/export/tiers.csv", {"team": org.east.pk, "period": period.key}))

    alice = html[html.index('data-testid="tier-alice"') :]
    alice = alice[: alice.index("</tr>")]
    assert "Bronze" in alice
    assert "2 → Silver" in alice
    assert f"stage=signing&amp;user={org.alice.pk}" in alice  # the signings drill down to the won deals
    by_rep = {r[0]: r for r in rows[1:]}
    assert by_rep["alice"][3:] == ["Bronze", "Silver", "2"]
    assert by_rep["bob"][3:] == ["", "Bronze", "1"]


def test_outcomes_section_shows_win_rate_lost_reasons_and_weighted_pipeline(login, org):
    from datetime import date
    from decimal import Decimal

    from pipeline.models import StageConfig
    from pipeline.services import deal_lose
    from tests.factories import lost_reason

    make_deal(owner=org.alice, stage=Stage.SIGNING, contract_amount=Decimal("9500.00"))
    for n, code in enumerate(["price", "price", "timing"]):
        lost = make_deal(owner=org.bob, stage=Stage.CONTACT, title=f"Lost {n}")
        deal_lose(deal=lost, reason=lost_reason(code), note="", actor=org.bob)
    make_deal(
        owner=org.alice, stage=Stage.NEGOTIATION, amount=Decimal("10000.00"), expected_close_date=date(2027, 1, 15)
    )
    make_deal(owner=org.dave, stage=Stage.NEGOTIATION, amount=Decimal("50000.00"))  # West: not East's pipeline
    negotiation = StageConfig.objects.get(stage=Stage.NEGOTIATION).probability
    client = login(org.manager)

    html = client.get("/dashboard/section/outcomes/", {"team": org.east.pk}).content.decode()

    assert 'data-testid="won">1<' in html
    assert 'data-testid="lost">3<' in html
    assert 'data-testid="win-rate">25 %<' in html
    reasons = html[html.index('data-testid="lost-reasons"') :]
    assert reasons.index("Price too high") < reasons.index("Bad timing")  # most frequent first
    assert "67 %" in reasons
    pipeline = html[html.index('data-testid="weighted-pipeline"') :]
    assert "January 2027" in pipeline
    weighted = 10000 * negotiation // 100
    assert f'data-testid="pipeline-total">CN¥{weighted:,}<' in pipeline


def test_calibration_section_flags_stages_whose_observed_win_rate_drifted(login, org):
    from pipeline.models import StageConfig
    from pipeline.services import deal_lose
    from tests.factories import lost_reason

    for _n in range(3):  # every deal that reached negotiation was won: observed 100 % against 60 %
        make_deal(owner=org.alice, stage=Stage.SIGNING)
    lost = make_deal(owner=org.bob, stage=Stage.PREP)
    deal_lose(deal=lost, reason=lost_reason("price"), note="", actor=org.bob)
    StageConfig.objects.filter(stage=Stage.PREP).update(probability=75)  # 3 won of 4 closed: in line
    client = login(org.manager)

    html = client.get("/dashboard/section/calibration/", {"team": org.east.pk}).content.decode()

    rows = {row.split("</th>")[0].rsplit(">", 1)[-1]: row for row in html.split('<th scope="row">')[1:]}
    assert 'data-testid="drift"' in rows["Negotiation &amp; follow-up"]
    assert "100 %" in rows["Negotiation &amp; follow-up"]
    assert "In line" in rows["Preparation (research)"]
    assert "75 %" in rows["Preparation (research)"]


def test_dashboard_query_count_does_not_grow_with_team_size(login, org, django_assert_max_num_queries):
    period = Period.current()
    reps = [rep(org.east, username=f"rep{i:02d}") for i in range(20)]
    for user in reps:
        _ladder(user, period)
        make_deal(owner=user, stage=Stage.NEEDS)
    client = login(org.manager)

    with django_assert_max_num_queries(12):
        response = client.get("/dashboard/", {"team": org.east.pk, "period": period.key})
    assert response.content.decode().count('data-testid="rep-rep') == 20
    for section in ("trend", "stale", "tiers", "outcomes", "calibration"):
        with django_assert_max_num_queries(12):
            assert client.get(f"/dashboard/section/{section}/", {"team": org.east.pk}).status_code == 200


def test_manager_pages_in_chinese(login, org, compiled_translations):
    make_deal(owner=org.alice, stage=Stage.PREP)
    client = login(org.manager)
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    dashboard = client.get("/dashboard/", {"team": org.east.pk}, **zh).content.decode()
    targets = client.get("/targets/", {"team": org.east.pk}, **zh).content.decode()
    imports = client.get("/leads/import/", **zh).content.decode()
    assert "团队仪表盘" in dashboard
    assert "销售前期准备" in dashboard
    assert "梯级规划器" in targets
    assert "从 CSV 文件导入线索" in imports


def test_csv_exports_defuse_formulas_from_outside(login, org):
    # given: a lead pushed from outside with a spreadsheet formula as its title and company
    make_deal(owner=org.alice, stage=Stage.PREP, title='=HYPERLINK("http://evil.example","Click")')

    response = login(org.manager).get("/dashboard/deals/", {"team": org.east.pk, "stage": "prep", "format": "csv"})

    # then: the cell is text in a spreadsheet (leading apostrophe), not a formula; numbers stay numbers
    row = _csv(response)[1]
    assert row[0] == '\'=HYPERLINK("http://evil.example","Click")'
    assert response["Content-Disposition"].startswith('attachment; filename="deals-prep-team')


def test_drill_down_does_not_list_deals_that_left_the_managers_teams(login, org):
    from pipeline.services import deal_update

    # given: two East deals entered prep this period; one is then handed to West's rep with a new amount
    make_deal(owner=org.alice, stage=Stage.PREP, title="Stays East")
    moved = make_deal(owner=org.alice, stage=Stage.PREP, title="Went West")
    deal_update(deal=moved, actor=org.admin, owner=org.dave, amount=777777)
    client = login(org.manager)

    # when
    html = client.get("/dashboard/deals/", {"team": org.east.pk, "stage": "prep"}).content.decode()
    rows = _csv(client.get("/dashboard/deals/", {"team": org.east.pk, "stage": "prep", "format": "csv"}))

    # then: East's manager sees their deal, and only a count of the one now in West
    assert "Stays East" in html
    assert "Went West" not in html
    assert "777" not in html
    assert "1 more deal counted in this figure has since moved outside your teams" in html
    assert [r[0] for r in rows[1:]] == ["Stays East"]


def test_stale_csv_dates_are_in_the_organisations_time_zone(login, org, settings):
    from datetime import UTC, datetime

    # given: last activity 2026-10-12 17:00 UTC = 2026-10-13 01:00 in Shanghai
    deal = make_deal(owner=org.alice, stage=Stage.PREP, title="Quiet one")
    at = datetime(2026, 10, 12, 17, 0, tzinfo=UTC)
    deal.__class__.objects.filter(pk=deal.pk).update(created_at=at, last_activity_at=at)

    rows = _csv(login(org.manager).get("/dashboard/export/stale.csv", {"team": org.east.pk}))

    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert rows[1][0] == "Quiet one"
    assert rows[1][4] == "2026-10-13"
