"""Targets pages: the quota grid (save, per-cell errors, atomicity), templates, copy with confirmation, planner."""

from __future__ import annotations

import pytest

from pipeline.models import Stage
from targets.models import Quota, QuotaTemplate
from targets.periods import Period
from tests.factories import rep

pytestmark = pytest.mark.django_db

STAGES = list(Stage.values)
NOV = "2026-11"


def _grid_post(org, values: dict, action: str = "save", **extra):
    data = {"team": org.east.pk, "period": NOV, "action": action, **extra}
    for (user, stage), value in values.items():
        data[f"q-{user.pk}-{stage}"] = value
    return data


def _quotas(user) -> dict[str, int]:
    return dict(Quota.objects.filter(user=user, period=NOV).values_list("stage", "value"))


def test_grid_shows_reps_of_the_team_and_sub_teams(login, org):
    Quota.objects.create(period=NOV, user=org.alice, stage=Stage.PREP, value=42)
    html = login(org.manager).get("/targets/", {"team": org.east.pk, "period": NOV}).content.decode()
    assert f'name="q-{org.alice.pk}-prep" value="42"' in html
    assert f'name="q-{org.nina.pk}-prep"' in html
    assert f'name="q-{org.dave.pk}-prep"' not in html
    assert "Preparation (research)" in html


def test_save_grid_writes_every_cell_and_clears_empty_ones(login, org):
    Quota.objects.create(period=NOV, user=org.bob, stage=Stage.SIGNING, value=9)
    client = login(org.manager)
    response = client.post(
        "/targets/",
        _grid_post(org, {(org.alice, "prep"): "100", (org.alice, "contact"): "50", (org.bob, "signing"): ""}),
    )
    assert response.status_code == 302
    assert _quotas(org.alice) == {"prep": 100, "contact": 50}
    assert _quotas(org.bob) == {}
    page = client.get(response.url).content.decode()
    assert "Quotas for 2026-11 saved." in page


def test_one_bad_cell_saves_nothing_and_is_marked(login, org):
    client = login(org.manager)
    response = client.post(
        "/targets/", _grid_post(org, {(org.alice, "prep"): "100", (org.bob, "needs"): "-3", (org.bob, "prep"): "x"})
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert _quotas(org.alice) == {}
    assert f'id="q-{org.bob.pk}-needs-error"' in html
    assert f'id="q-{org.bob.pk}-prep-error">Enter a whole number.' in html
    assert f'name="q-{org.alice.pk}-prep" value="100"' in html  # the typed values are kept
    assert "Nothing was saved" in html


def test_apply_template_asks_then_sets_every_rep(login, org):
    template = QuotaTemplate.objects.get(is_default=True)
    client = login(org.manager)
    data = {"team": org.east.pk, "period": NOV, "action": "apply", "template": template.pk}

    ask = client.post("/targets/", data)
    assert ask.status_code == 200
    assert 'data-testid="confirm-apply"' in ask.content.decode()
    assert _quotas(org.alice) == {}

    response = client.post("/targets/", {**data, "confirm": "yes"})
    assert response.status_code == 302
    assert "applied to 3 reps" in client.get(response.url).content.decode()
    assert _quotas(org.alice) == {
        "prep": 100,
        "contact": 50,
        "needs": 20,
        "proposal": 10,
        "negotiation": 5,
        "signing": 3,
    }
    assert _quotas(org.nina)["signing"] == 3
    assert _quotas(org.dave) == {}


def test_apply_template_of_another_period_kind_is_an_error(login, org):
    weekly = QuotaTemplate.objects.create(name="Weekly", period_kind="week")
    response = login(org.manager).post(
        "/targets/", {"team": org.east.pk, "period": NOV, "action": "apply", "template": weekly.pk}
    )
    assert response.status_code == 400
    assert "This template is for a" in response.content.decode()


def test_copy_previous_period_asks_for_confirmation(login, org):
    Quota.objects.create(period="2026-10", user=org.alice, stage=Stage.PREP, value=77)
    client = login(org.manager)

    ask = client.post("/targets/", {"team": org.east.pk, "period": NOV, "action": "copy"})
    assert ask.status_code == 200
    assert 'data-testid="confirm-copy"' in ask.content.decode()
    assert _quotas(org.alice) == {}

    done = client.post("/targets/", {"team": org.east.pk, "period": NOV, "action": "copy", "confirm": "yes"})
    assert done.status_code == 302
    assert _quotas(org.alice) == {"prep": 77}


def test_copy_with_nothing_to_copy_says_so(login, org):
    response = login(org.manager).post(
        "/targets/", {"team": org.east.pk, "period": NOV, "action": "copy", "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "2026-10 has no quotas to copy." in response.content.decode()


def test_roles_and_scope(login, org):
    assert login(org.alice).get("/targets/").status_code == 404
    assert login(org.alice).post("/targets/", _grid_post(org, {(org.alice, "prep"): "1"})).status_code == 404
    assert _quotas(org.alice) == {}
    manager = login(org.manager)
    assert manager.get("/targets/", {"team": org.west.pk}).status_code == 404
    west = {"team": org.west.pk, "period": NOV, "action": "save", f"q-{org.dave.pk}-prep": "5"}
    assert manager.post("/targets/", west).status_code == 404
    assert not Quota.objects.filter(user=org.dave).exists()
    assert login(org.mgr_west).get("/targets/", {"team": org.west.pk}).status_code == 200
    assert login(org.admin).get("/targets/", {"team": org.west.pk}).status_code == 200


def test_rep_of_another_team_in_the_grid_is_refused(login, org):
    response = login(org.manager).post("/targets/", _grid_post(org, {(org.dave, "prep"): "5"}))
    assert response.status_code == 400
    assert not Quota.objects.filter(user=org.dave).exists()


def test_planner_back_plans_a_signing_goal(login, org):
    response = login(org.manager).get(
        "/targets/planner/", {"team": org.east.pk, "period": NOV, "signings": "3"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    # No history: the default ladder's rates (50/40/50/50/60 %) back-plan 3 signings to 100 preparations.
    needed = {}
    for stage in STAGES:
        row = html[html.index(f'data-testid="plan-{stage}"') :]
        needed[stage] = int(row[row.index("<strong>") + 8 : row.index("</strong>")])
    assert needed == {"prep": 100, "contact": 50, "needs": 20, "proposal": 10, "negotiation": 5, "signing": 3}
    assert "No deals climbed the ladder" in html


def test_planner_flags_a_ladder_that_cannot_add_up(login, org):
    Quota.objects.bulk_create(
        [
            Quota(period=NOV, user=org.alice, stage=s, value=v)
            for s, v in zip(STAGES, (100, 50, 20, 10, 5, 3), strict=True)
        ]
    )
    Quota.objects.filter(user=org.alice, stage=Stage.PROPOSAL).update(value=30)
    html = (
        login(org.manager)
        .get("/targets/planner/", {"team": org.east.pk, "period": NOV, "signings": "3", "user": org.alice.pk})
        .content.decode()
    )
    assert 'data-testid="planner-warnings"' in html
    assert "cannot come out of" in html


def test_planner_errors(login, org):
    client = login(org.manager)
    bad = client.get("/targets/planner/", {"team": org.east.pk, "signings": "many"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "Enter a whole number" in bad.content.decode()
    assert client.get("/targets/planner/", {"team": org.west.pk, "signings": "3"}).status_code == 404
    assert (
        client.get("/targets/planner/", {"team": org.east.pk, "signings": "3", "user": org.dave.pk}).status_code == 404
    )


def test_grid_query_count_does_not_grow_with_team_size(login, org, django_assert_max_num_queries):
    for i in range(20):
        rep(org.east, username=f"r{i:02d}")
    client = login(org.manager)
    with django_assert_max_num_queries(12):
        response = client.get("/targets/", {"team": org.east.pk, "period": Period.parse(NOV).key})
    assert response.content.decode().count('type="number" min="0"') == 23 * 6
