"""seed_demo: the demo organisation of SPEC §10, its history and its determinism.

The demo is seeded once for the module (inside a transaction rolled back at the end); each test runs in a
savepoint on top of it.
"""

from __future__ import annotations

import datetime
import importlib.machinery
import importlib.util
import sys
import types
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F

from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    Contact,
    Deal,
    DealStatus,
    Stage,
    StageConfig,
    StageTransition,
)
from salesladder.demo import services as demo
from salesladder.org.models import Membership, Role, Team, User

ANCHOR = datetime.date(2026, 11, 27)


def _fingerprint() -> list[tuple]:
    rows = Deal.objects.annotate(
        steps=Count("transitions", distinct=True), acts=Count("activities", distinct=True)
    ).values_list("title", "owner__username", "stage", "status", "amount", "created_at", "steps", "acts")
    return sorted(rows, key=repr)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), transaction.atomic():
        summary = demo.seed_demo(anchor=ANCHOR, hooks=False)
        yield summary, _fingerprint()
        transaction.set_rollback(True)


@pytest.fixture
def summary(seeded, db):  # type: ignore[no-untyped-def]
    return seeded[0]


def _entered() -> dict[str, int]:
    rows = (
        StageTransition.objects.filter(kind__in=["create", "forward"])
        .values_list("to_stage")
        .annotate(n=Count("deal", distinct=True))
    )
    return dict(rows)


def test_users_and_teams_are_exactly_the_specs(summary):
    assert set(User.objects.values_list("username", flat=True)) == {
        "admin",
        "manager",
        "alice",
        "bob",
        "carol",
        "mgr_west",
        "dave",
    }
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.filter(is_superuser=True).count() == 1
    assert set(Team.objects.values_list("name", "parent")) == {("East", None), ("West", None)}
    assert set(Membership.objects.values_list("team__name", "user__username", "role")) == {
        ("East", "manager", Role.MANAGER),
        ("East", "alice", Role.REP),
        ("East", "bob", Role.REP),
        ("East", "carol", Role.REP),
        ("West", "mgr_west", Role.MANAGER),
        ("West", "dave", Role.REP),
    }


@pytest.mark.parametrize("username", ["admin", "manager", "alice", "bob", "carol", "mgr_west", "dave"])
def test_everyone_logs_in_with_the_demo_password(summary, client, username):
    assert client.login(username=username, password="demo12345")
    assert not client.login(username=username, password="wrong-password")


def test_admin_can_open_the_admin_site(summary, client):
    client.login(username="admin", password="demo12345")

    response = client.get("/admin/pipeline/deal/?stage__exact=proposal")

    assert response.status_code == 200
    assert response.context["cl"].result_count == Deal.objects.filter(stage=Stage.PROPOSAL).count() > 0


def test_several_hundred_deals_over_at_least_six_months(summary):
    assert 300 <= summary.deals == Deal.objects.count() <= 1500
    first = Deal.objects.order_by("created_at").first().created_at.date()
    assert first <= ANCHOR - datetime.timedelta(days=183)
    assert Deal.objects.filter(created_at__date__gte=ANCHOR).count() == 0  # nothing from the future
    assert StageTransition.objects.filter(occurred_at__date__gte=ANCHOR).count() == 0
    for rep in ["alice", "bob", "carol", "dave"]:
        months = Deal.objects.filter(owner__username=rep).dates("created_at", "month")
        assert len(months) >= 7, rep


def test_the_funnel_has_the_ladder_shape(summary):
    entered = _entered()
    counts = [entered.get(stage, 0) for stage in Stage.values]
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] >= 10  # some signings
    overall = counts[-1] / counts[0]
    assert 0.015 <= overall <= 0.08  # roughly the 3 % of 100 / 50 / 20 / 10 / 5 / 3
    for upper, lower in zip(counts, counts[1:], strict=False):
        assert 0.25 <= lower / upper <= 0.85


def test_deals_sit_in_every_stage_and_every_open_rung_has_open_deals(summary):
    by_stage = dict(Deal.objects.values_list("stage").annotate(n=Count("id")))
    assert set(by_stage) == set(Stage.values)
    open_stages = set(Deal.objects.filter(status=DealStatus.OPEN).values_list("stage", flat=True))
    assert open_stages == set(Stage.values) - {Stage.SIGNING}


def test_won_deals_are_signed_and_lost_deals_have_reasons(summary):
    won = Deal.objects.filter(status=DealStatus.WON)
    assert won.count() == summary.won >= 10
    assert not won.exclude(stage=Stage.SIGNING).exists()
    assert not won.filter(signed_on__isnull=True).exists()
    assert not won.filter(contract_amount__isnull=True).exists()
    assert won.exclude(delivery_status="").count() == won.count()
    assert won.filter(delivery_status="delivered").exists()
    lost = Deal.objects.filter(status=DealStatus.LOST)
    assert lost.count() == summary.lost >= 50
    assert not lost.filter(lost_reason__isnull=True).exists()
    assert lost.values("lost_reason").distinct().count() >= 4
    assert StageTransition.objects.filter(kind="reopen").exists()
    assert StageTransition.objects.filter(kind="backward").exists()


def test_amounts_are_in_cny_and_positive(summary):
    assert set(Deal.objects.values_list("currency", flat=True)) == {"CNY"}
    assert not Deal.objects.filter(amount__lte=0).exists()
    assert Deal.objects.filter(amount__gte=100_000).exists()


def test_companies_are_chinese_and_english(summary):
    names = list(Account.objects.values_list("name", flat=True))
    chinese = [n for n in names if "有限公司" in n]
    english = [n for n in names if n.isascii()]
    assert len(chinese) >= 50
    assert len(english) >= 50
    assert len(set(names)) == len(names)
    assert Contact.objects.exclude(email="").count() == Contact.objects.count()


def test_some_deals_are_stale_and_they_really_are_untouched(summary):
    stale = Deal.objects.filter(is_stale=True)
    assert 5 <= stale.count() == summary.stale < Deal.objects.filter(status=DealStatus.OPEN).count() / 2
    assert not stale.exclude(status=DealStatus.OPEN).exists()
    stale_days = dict(StageConfig.objects.values_list("stage", "stale_days"))
    end = datetime.datetime.combine(ANCHOR, datetime.time(), tzinfo=datetime.UTC) + datetime.timedelta(days=1)
    for deal in stale:
        assert deal.last_activity_at < end - datetime.timedelta(days=stale_days[deal.stage])


def test_activities_of_every_kind_with_open_and_done_tasks(summary):
    kinds = dict(Activity.objects.values_list("kind").annotate(n=Count("id")))
    assert set(kinds) == set(ActivityKind.values)
    assert sum(kinds.values()) == summary.activities >= 500
    tasks = Activity.objects.filter(kind=ActivityKind.TASK)
    assert tasks.filter(done_at__isnull=True, deal__status=DealStatus.OPEN).exists()
    assert tasks.filter(done_at__isnull=False).exists()
    assert not tasks.filter(due_at__isnull=True).exists()
    # every activity happened while its deal existed
    assert not Activity.objects.filter(created_at__lt=F("deal__created_at")).exists()


def test_every_deals_history_replays_to_its_current_stage_and_status(summary):
    history = defaultdict(list)
    for t in StageTransition.objects.order_by("occurred_at", "pk").values(
        "deal_id", "kind", "from_stage", "to_stage", "from_status", "to_status"
    ):
        history[t["deal_id"]].append(t)
    deals = dict(Deal.objects.values_list("pk", "stage"))
    statuses = dict(Deal.objects.values_list("pk", "status"))
    assert set(history) == set(deals)
    for pk, steps in history.items():
        stage, status = "", ""
        for step in steps:
            assert (step["from_stage"], step["from_status"]) == (stage, status), (pk, steps)
            stage, status = step["to_stage"], step["to_status"]
        assert (stage, status) == (deals[pk], statuses[pk]), pk


def test_the_same_seed_and_anchor_give_the_same_data(seeded, db, capsys):
    # given: the module's demo, wiped
    _, first = seeded
    Deal.objects.all().delete()
    Contact.objects.all().delete()
    Account.objects.all().delete()
    Membership.objects.all().delete()
    User.objects.all().delete()
    Team.objects.all().delete()

    # when: the command itself, with the targets/reviews hooks that exist
    call_command("seed_demo", "--anchor", ANCHOR.isoformat())

    # then
    assert _fingerprint() == first
    out = capsys.readouterr().out
    assert "Demo organisation created" in out
    for module, function in demo.DEMO_HOOKS:
        if importlib.util.find_spec(module) is not None:
            assert f"{module}.{function}" in out


def test_if_empty_does_nothing_the_second_time(summary, capsys):
    before = (Deal.objects.count(), StageTransition.objects.count(), Activity.objects.count(), User.objects.count())

    call_command("seed_demo", "--if-empty")

    after = (Deal.objects.count(), StageTransition.objects.count(), Activity.objects.count(), User.objects.count())
    assert after == before
    assert "nothing to do" in capsys.readouterr().out


def test_without_if_empty_a_second_run_is_refused(summary):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo")


def test_extension_hooks_are_called_with_the_anchor_when_they_exist(monkeypatch):
    # given: a targets.demo module (the real one may or may not exist yet) and no reviews.demo
    calls = []
    fake = types.ModuleType("targets.demo")
    fake.__spec__ = importlib.machinery.ModuleSpec("targets.demo", None)
    fake.seed_demo_targets = lambda *, anchor: calls.append(anchor)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "targets.demo", fake)
    monkeypatch.setattr(demo, "DEMO_HOOKS", [("targets.demo", "seed_demo_targets"), ("nowhere.demo", "seed")])

    # when
    ran = demo._run_hooks(anchor=ANCHOR)

    # then
    assert calls == [ANCHOR]
    assert ran == ["targets.demo.seed_demo_targets"]
