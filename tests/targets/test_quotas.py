"""Quota services and selectors: grid validation and atomicity, templates, copy, team quota = sum or override."""

from __future__ import annotations

import pytest

from salesladder.errors import DomainError
from targets.models import Quota, QuotaTemplate
from targets.periods import Period
from targets.quota_selectors import ladder_consistency, period_from_key, quota_for, quota_grid
from targets.quota_services import (
    quota_set,
    quotas_copy_from_previous,
    quotas_set_grid,
    template_apply,
    template_create,
    template_delete,
    template_update,
)
from targets.selectors.scope import Scope

NOV = Period.parse("2026-11")
DEFAULT = {"prep": 100, "contact": 50, "needs": 20, "proposal": 10, "negotiation": 5, "signing": 3}


def test_grid_sets_every_cell_and_clears_null(org):
    quota_set(period=NOV, stage="prep", value=7, user=org.bob, actor=org.manager)

    quotas_set_grid(
        period=NOV,
        team=org.east,
        grid={org.alice.pk: {"prep": 80, "contact": 40}, str(org.bob.pk): {"prep": None, "signing": "2"}},
        actor=org.manager,
    )

    assert quota_for(scope=Scope.for_user(org.alice), period=NOV) == {"prep": 80, "contact": 40}
    assert quota_for(scope=Scope.for_user(org.bob), period=NOV) == {"signing": 2}


def test_grid_with_one_bad_cell_writes_nothing_and_names_each_bad_cell(org):
    quota_set(period=NOV, stage="prep", value=7, user=org.alice, actor=org.manager)

    with pytest.raises(DomainError) as exc:
        quotas_set_grid(
            period=NOV,
            team=org.east,
            grid={
                org.alice.pk: {"prep": 90, "contact": -1},
                org.bob.pk: {"nonsense": 3, "needs": 2.5, "proposal": True},
                org.dave.pk: {"prep": 1},
            },
            actor=org.manager,
        )

    errors = exc.value.errors
    assert set(errors) == {
        f"{org.alice.pk}.contact",
        f"{org.bob.pk}.nonsense",
        f"{org.bob.pk}.needs",
        f"{org.bob.pk}.proposal",
        str(org.dave.pk),
    }
    assert list(Quota.objects.values_list("user__username", "stage", "value")) == [("alice", "prep", 7)]


def test_grid_reaches_reps_of_sub_teams(org):
    quotas_set_grid(period=NOV, team=org.east, grid={org.nina.pk: {"prep": 12}}, actor=org.manager)

    assert quota_for(scope=Scope.for_user(org.nina), period=NOV) == {"prep": 12}


def test_apply_default_template_to_team_covers_reps_of_sub_teams_only(org):
    reps = template_apply(period=NOV, team=org.east, actor=org.manager)

    assert reps == sorted([org.alice.pk, org.bob.pk, org.nina.pk])
    for user in (org.alice, org.bob, org.nina):
        assert quota_for(scope=Scope.for_user(user), period=NOV) == DEFAULT
    assert quota_for(scope=Scope.for_user(org.dave), period=NOV) == {}
    assert quota_for(scope=Scope.for_user(org.manager), period=NOV) == {}


def test_apply_custom_template_overwrites_its_stages_and_keeps_others(org):
    quota_set(period=NOV, stage="signing", value=9, user=org.alice, actor=org.manager)
    quota_set(period=NOV, stage="prep", value=1, user=org.alice, actor=org.manager)
    template = template_create(name="Hunters", lines={"prep": 150, "contact": 60}, actor=org.admin)

    template_apply(period=NOV, team=org.east_north, template=template, actor=org.manager)
    template_apply(period=NOV, team=org.east_north, template=template, actor=org.manager)  # twice: same rows

    assert quota_for(scope=Scope.for_user(org.nina), period=NOV) == {"prep": 150, "contact": 60}
    assert quota_for(scope=Scope.for_user(org.alice), period=NOV) == {"prep": 1, "signing": 9}
    assert Quota.objects.filter(user=org.nina).count() == 2


def test_monthly_template_refuses_a_week(org):
    with pytest.raises(DomainError) as exc:
        template_apply(period=Period.parse("2026-W48"), team=org.east, actor=org.manager)
    assert "template" in exc.value.errors
    assert not Quota.objects.exists()


def test_template_lines_are_validated_and_default_cannot_be_deleted(org):
    with pytest.raises(DomainError) as exc:
        template_create(name="Bad", lines={"prep": -3, "nope": 1}, actor=org.admin)
    assert set(exc.value.errors) == {"lines.prep", "lines.nope"}
    assert not QuotaTemplate.objects.filter(name="Bad").exists()

    template = template_create(name="Small", lines=[{"stage": "prep", "value": 10}], actor=org.admin)
    with pytest.raises(DomainError) as dup:
        template_create(name="small", lines={"prep": 1}, actor=org.admin)
    assert "name" in dup.value.errors

    template_update(template=template, lines={"prep": 20, "signing": 1}, actor=org.admin)
    assert dict(template.lines.values_list("stage", "value")) == {"prep": 20, "signing": 1}

    default = QuotaTemplate.objects.get(is_default=True)
    with pytest.raises(DomainError):
        template_delete(template=default, actor=org.admin)
    assert QuotaTemplate.objects.filter(pk=default.pk).exists()


def test_copy_from_previous_period_copies_reps_and_team_rows(org):
    oct_ = NOV.previous()
    template_apply(period=oct_, team=org.east, actor=org.manager)
    quota_set(period=oct_, stage="prep", value=500, team=org.east, actor=org.manager)
    quota_set(period=NOV, stage="prep", value=1, user=org.alice, actor=org.manager)
    quota_set(period=oct_, stage="prep", value=77, user=org.dave, actor=org.mgr_west)

    written = quotas_copy_from_previous(period=NOV, team=org.east, actor=org.manager)

    assert written == 3 * 6 + 1
    assert quota_for(scope=Scope.for_user(org.alice), period=NOV) == DEFAULT
    assert quota_for(scope=Scope.for_team(org.east), period=NOV)["prep"] == 500
    assert quota_for(scope=Scope.for_user(org.dave), period=NOV) == {}


def test_copy_from_an_empty_previous_period_is_a_clear_error(org):
    with pytest.raises(DomainError) as exc:
        quotas_copy_from_previous(period=NOV, team=org.west, actor=org.mgr_west)
    assert "2026-10" in exc.value.errors["period"][0]


def test_team_quota_defaults_to_sum_of_members_and_explicit_rows_override(org, django_assert_num_queries):
    template_apply(period=NOV, team=org.east, actor=org.manager)
    quota_set(period=NOV, stage="signing", value=1, user=org.bob, actor=org.manager)

    with django_assert_num_queries(2):  # team tree, then one aggregate
        east = quota_for(scope=Scope.for_team(org.east), period=NOV)
    assert east == {"prep": 300, "contact": 150, "needs": 60, "proposal": 30, "negotiation": 15, "signing": 7}

    quota_set(period=NOV, stage="prep", value=250, team=org.east, actor=org.manager)
    quota_set(period=NOV, stage="contact", value=0, team=org.east, actor=org.manager)
    east = quota_for(scope=Scope.for_team(org.east), period=NOV)
    assert east["prep"] == 250
    assert east["contact"] == 0
    assert east["needs"] == 60
    # a sub-team's sum is its own reps only; the organisation sums every rep
    assert quota_for(scope=Scope.for_team(org.east_north), period=NOV)["prep"] == 100
    assert quota_for(scope=Scope.org(), period=NOV)["prep"] == 300

    quota_set(period=NOV, stage="prep", value=None, team=org.east, actor=org.manager)
    assert quota_for(scope=Scope.for_team(org.east), period=NOV)["prep"] == 300


def test_quota_set_validates(org):
    with pytest.raises(DomainError) as exc:
        quota_set(period="2026-13", stage="prep", value=1, user=org.alice, actor=org.admin)
    assert "period" in exc.value.errors
    with pytest.raises(DomainError) as exc:
        quota_set(period=NOV, stage="prep", value=1, user=org.alice, team=org.east, actor=org.admin)
    with pytest.raises(DomainError) as exc:
        quota_set(period=NOV, stage="prep", value=10**9, user=org.alice, actor=org.admin)
    assert "value" in exc.value.errors
    assert not Quota.objects.exists()


@pytest.mark.parametrize("key", ["0000-01", "9999-12", "2026-W60", "2026-Q5", "", "x" * 50, "2026-00"])
def test_bad_period_keys_are_field_errors(key):
    with pytest.raises(DomainError) as exc:
        period_from_key(key)
    assert "period" in exc.value.errors


def test_quota_grid_is_reps_by_stages_in_constant_queries(org, django_assert_num_queries):
    template_apply(period=NOV, team=org.east, actor=org.manager)
    quota_set(period=NOV, stage="prep", value=None, user=org.bob, actor=org.manager)

    with django_assert_num_queries(3):
        grid = quota_grid(team=org.east, period=NOV)

    assert [row.user.username for row in grid] == ["alice", "bob", "nina"]
    assert grid[0].quotas == DEFAULT
    assert grid[1].quotas["prep"] is None
    assert grid[1].quotas["signing"] == 3


def test_ladder_consistency_flags_ladders_that_cannot_add_up():
    rates = {"prep": 0.5, "contact": 0.4, "needs": 0.5, "proposal": 0.5, "negotiation": 0.6}
    assert ladder_consistency(DEFAULT, rates) == []

    flags = ladder_consistency({**DEFAULT, "needs": 20, "proposal": 10}, {**rates, "needs": 0.4})
    assert [(f.code, f.stage, f.max_next) for f in flags] == [("unreachable", "needs", 8)]
    assert "8" in flags[0].message
    assert "40" in flags[0].message

    flags = ladder_consistency({"negotiation": 5, "signing": 6}, {})
    assert [(f.code, f.stage, f.next_stage) for f in flags] == [("quota_increases", "negotiation", "signing")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_template_applications_and_grid_writes_do_not_collide(org):
    import threading

    from django.db import connection

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def apply() -> None:
        try:
            barrier.wait()
            template_apply(period=NOV, team=org.east, actor=org.manager)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    def grid() -> None:
        try:
            barrier.wait()
            quotas_set_grid(period=NOV, team=org.east, grid={org.alice.pk: {"prep": 100}}, actor=org.manager)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=f) for f in (apply, apply, grid, grid)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Quota.objects.filter(period=NOV.key).count() == 3 * 6
    assert quota_for(scope=Scope.for_user(org.alice), period=NOV) == DEFAULT
