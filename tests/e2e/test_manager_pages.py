"""Manager pages in a real browser: the dashboard after the nightly job, the CSV import with live progress,
and screenshots of the dashboard, targets, reviews and import pages in English and 简体中文."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from pipeline.imports import import_job_create, import_job_run
from pipeline.models import Deal, ImportJob, ImportStatus, Stage
from pipeline.services import deal_move
from reviews.models import ActionItem, CycleKind, Review, ReviewCycle, ReviewStatus
from reviews.services import review_drafts_create
from targets.models import IncentiveTier, Quota
from targets.periods import Period
from tests.factories import AccountFactory, ContactFactory, make_deal, rep

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

STAGES = list(Stage.values)
LEADS_CSV = (
    "来源,线索编号,公司名称,联系人,电子邮件,金额\n"
    "展会,L-1,杭州物流有限公司,王磊,wang@hzlogistics.example.cn,48000\n"
    "展会,L-2,苏州纺织有限公司,李娜,li@sztextile.example.cn,36000\n"
    "展会,L-3,宁波生鲜食品,张伟,not-an-email,22000\n"
)


def _log_in_manager(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/**")


def _wait_for_dashboard(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector('[data-testid="trend-table"]')
    page.wait_for_selector('[data-testid="tiers"] table, [data-testid="tiers"] .empty-state')
    page.wait_for_selector('[data-testid="stale"] table, [data-testid="stale"] .empty-state')
    page.wait_for_selector('[data-testid="outcomes"] [data-testid="outcome-figures"]')
    page.wait_for_selector('[data-testid="calibration"] [data-testid="win-rates"]')
    page.wait_for_selector("#funnel-chart svg")
    page.wait_for_load_state("networkidle")


def _shoot(page, dir_: Path, name: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(dir_ / f"{name}-{lang}.png"), full_page=True)


def test_manager_sees_the_reps_move_after_run_nightly(page, org, password):
    period = Period.current()
    Quota.objects.bulk_create(
        [
            Quota(period=period.key, user=org.alice, stage=s, value=v)
            for s, v in zip(STAGES, (4, 2, 1, 1, 1, 1), strict=True)
        ]
    )
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Robot arms")
    _log_in_manager(page, "manager", password)
    _wait_for_dashboard(page)
    needs_cell = f'[data-testid="cell-{org.alice.pk}-needs"]'
    assert page.inner_text(needs_cell) == "0"

    # when: the rep moves the deal to needs analysis and the nightly job runs
    deal_move(
        deal=deal, to_stage=Stage.NEEDS, actor=org.alice, fields={"contact": ContactFactory(account=deal.account)}
    )
    call_command("run_nightly")
    page.reload()
    _wait_for_dashboard(page)

    # then: the move shows in the rep's row, in the team's funnel, and drills down to the deal
    assert page.inner_text(needs_cell) == "1"
    assert page.inner_text('[data-testid="entered-needs"]') == "1"
    row = page.locator(f'[data-testid="rep-alice"] td:has({needs_cell})')
    assert "pace-on_track" in (row.get_attribute("class") or "")
    page.click(needs_cell)
    page.wait_for_selector('[data-testid="drill-table"]')
    assert "Robot arms" in page.inner_text('[data-testid="drill-table"]')


def test_csv_import_shows_progress_and_its_result(page, org, password, tmp_path, screenshot_dir):
    _log_in_manager(page, "manager", password)

    # A job a worker is still processing: the page polls and the bar moves without a reload.
    job = import_job_create(filename="expo.csv", data=LEADS_CSV.encode(), actor=org.manager)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, processed=1, total=3, mapping=job.mapping)
    page.goto(f"/leads/import/{job.pk}/")
    page.wait_for_selector('[data-testid="import-progress"][data-status="running"]')
    assert page.get_attribute('[role="progressbar"]', "aria-valuenow") == "33"
    import_job_run(job_id=job.pk)  # the worker finishes
    page.wait_for_selector('[data-testid="import-progress"][data-status="done"]', timeout=5_000)
    assert page.inner_text('[data-testid="created"]') == "2"

    # The whole flow in the browser: upload, check the guessed mapping, import, read the result.
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV.replace("L-", "M-"), encoding="utf-8")
    page.goto("/leads/import/")
    page.set_input_files("#id_file", str(path))
    page.click('[data-testid="upload-form"] button[type=submit]')
    page.wait_for_selector('[data-testid="preview"]')
    assert "杭州物流有限公司" in page.inner_text('[data-testid="preview"]')
    assert page.input_value("#map-external_id") == "线索编号"
    assert page.input_value("#map-company") == "公司名称"
    page.click('[data-testid="mapping-form"] button[type=submit]')
    page.wait_for_selector('[data-testid="import-summary"]')
    assert page.get_attribute('[role="progressbar"]', "aria-valuenow") == "100"
    assert page.inner_text('[data-testid="created"]') == "2"
    assert page.inner_text('[data-testid="errors"]') == "1"
    assert Deal.objects.filter(external_id__startswith="M-").count() == 2
    _shoot(page, screenshot_dir, "import-result", "en")


def _demo_team(org) -> Review:  # type: ignore[no-untyped-def]
    """East with a few more reps, quotas, a climbing pipeline, tiers and last month's reviews."""
    period = Period.current()
    previous = period.previous()
    reps = [org.alice, org.bob, org.nina, rep(org.east, username="chen", first_name="Chen", last_name="Jie")]
    ladders = [(20, 10, 4, 2, 1, 1), (20, 10, 4, 2, 1, 1), (10, 5, 2, 1, 1, 1), (20, 10, 4, 2, 1, 1)]
    for p in (period, previous):
        Quota.objects.bulk_create(
            [
                Quota(period=p.key, user=user, stage=s, value=v)
                for user, ladder in zip(reps, ladders, strict=True)
                for s, v in zip(STAGES, ladder, strict=True)
            ]
        )
    plan = {
        org.alice: [Stage.PREP] * 6 + [Stage.CONTACT] * 5 + [Stage.NEEDS] * 3 + [Stage.PROPOSAL, Stage.SIGNING],
        org.bob: [Stage.PREP] * 9 + [Stage.CONTACT] * 2 + [Stage.NEEDS],
        org.nina: [Stage.PREP] * 4 + [Stage.CONTACT] * 2 + [Stage.NEGOTIATION],
        reps[3]: [Stage.PREP] * 14 + [Stage.CONTACT] * 6 + [Stage.NEEDS] * 2 + [Stage.SIGNING] * 2,
    }
    companies = ["Hangzhou Logistics", "Suzhou Textiles", "Ningbo Fresh Foods", "Wuxi Precision", "Nanjing Retail"]
    n = 0
    for user, stages in plan.items():
        for stage in stages:
            n += 1
            make_deal(
                owner=user,
                stage=stage,
                title=f"{companies[n % 5]} #{n}",
                account=AccountFactory(owner=user, name=f"{companies[n % 5]} {n}"),
                amount=Decimal(10000 + 1000 * n),
                expected_close_date=datetime.date(2026, 12, 20),
            )
    # Last month's climb, so the reviews' scorecards have figures.
    last_month = datetime.datetime.combine(previous.start + datetime.timedelta(days=9), datetime.time(10), datetime.UTC)
    for user, stages in plan.items():
        for i, stage in enumerate(stages[::2]):
            deal = make_deal(owner=user, stage=stage, title=f"Earlier deal {user.username} {i}", amount=Decimal(20000))
            deal.transitions.update(occurred_at=last_month)
            Deal.objects.filter(pk=deal.pk).update(created_at=last_month, stage_entered_at=last_month)
    quiet = Deal.objects.filter(owner=org.bob, stage=Stage.CONTACT)
    quiet.update(
        last_activity_at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
        created_at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
    )
    for threshold, name, reward in ((1, "Tier 1", "Team dinner"), (3, "Tier 2", "Bonus 2,000"), (5, "Tier 3", "Trip")):
        IncentiveTier.objects.create(period=period.key, threshold=threshold, name=name, reward=reward)
    review_drafts_create(period=previous)
    reviews = Review.objects.filter(period=previous.key).exclude(user=org.alice).order_by("user__username")
    for review, status in zip(
        reviews, (ReviewStatus.SHARED, ReviewStatus.ACKNOWLEDGED, ReviewStatus.CLOSED), strict=False
    ):
        Review.objects.filter(pk=review.pk).update(status=status, rating=4, strengths="Strong prospecting")
    featured = Review.objects.get(user=org.alice, period=previous.key)
    Review.objects.filter(pk=featured.pk).update(
        status=ReviewStatus.DRAFT,
        rating=4,
        strengths="Opens many conversations; strong discovery calls.",
        improvements="Move proposals to negotiation faster.",
    )
    ActionItem.objects.create(review=featured, text="Shadow Chen on two negotiations", due_date=period.end)
    ReviewCycle.objects.get_or_create(team=org.east, kind=CycleKind.MONTH)
    return featured


def test_manager_pages_screenshots(page, org, password, screenshot_dir):
    featured = _demo_team(org)
    team = f"team={org.east.pk}"
    _log_in_manager(page, "manager", password)
    job = import_job_create(filename="expo-leads.csv", data=LEADS_CSV.encode(), actor=org.manager)

    for lang in ("en", "zh"):
        if lang == "zh":
            page.select_option("#language-select", "zh-hans")
            page.wait_for_selector('html[lang="zh-hans"]')
        page.goto(f"/dashboard/?{team}")
        _wait_for_dashboard(page)
        heatmap = page.inner_text('[data-testid="heatmap"]')
        assert ("销售前期准备" if lang == "zh" else "Preparation (research)") in heatmap
        _shoot(page, screenshot_dir, "dashboard", lang)
        page.goto(f"/targets/?{team}")
        page.fill("#planner-signings", "4")
        page.click('[data-testid="planner-form"] button[type=submit]')
        page.wait_for_selector('[data-testid="planner-result"]')
        _shoot(page, screenshot_dir, "targets", lang)
        page.goto("/reviews/")
        page.wait_for_selector('[data-testid="completion"]')
        _shoot(page, screenshot_dir, "reviews", lang)
        page.goto(f"/reviews/{featured.pk}/")
        page.wait_for_selector("#scorecard-chart svg")
        _shoot(page, screenshot_dir, "review", lang)
        page.goto(f"/leads/import/{job.pk}/mapping/")
        page.wait_for_selector('[data-testid="preview"]')
        _shoot(page, screenshot_dir, "import", lang)

    # A manager's phone: the dashboard stacks its sections; wide tables scroll inside their own box,
    # the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("zh", "en"):
        if lang == "en":
            page.select_option("#language-select", "en")
            page.wait_for_selector('html[lang="en"]')
        page.goto(f"/dashboard/?{team}")
        _wait_for_dashboard(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shoot(page, screenshot_dir, "dashboard-phone", lang)
