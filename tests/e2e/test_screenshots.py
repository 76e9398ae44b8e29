"""The main pages in English and 简体中文, written to docs/screenshots/ for the README."""

from __future__ import annotations

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline.models import ActivityKind, Deal, Stage
from pipeline.services import activity_log, deal_lose
from salesladder.org.services import api_token_create
from tests.e2e.conftest import log_in
from tests.factories import AccountFactory, ContactFactory, lost_reason, make_deal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHINESE_LADDER = ["销售前期准备", "初次接触", "需求分析", "提案和报价", "谈判和跟进", "签约和实施"]

DEALS = [
    ("Warehouse robots pilot", "Hangzhou Logistics Co", Stage.PREP, "48000"),
    ("CRM rollout, 40 seats", "Suzhou Textiles Ltd", Stage.PREP, "36000"),
    ("Cold-chain sensors", "Ningbo Fresh Foods", Stage.CONTACT, "22000"),
    ("Fleet telematics", "Shanghai Express Freight", Stage.CONTACT, "65000"),
    ("ERP integration", "Wuxi Precision Parts", Stage.NEEDS, "90000"),
    ("Analytics platform", "Nanjing Retail Group", Stage.PROPOSAL, "120000"),
    ("Support renewal 2027", "Hefei Medical Devices", Stage.NEGOTIATION, "54000"),
    ("Smart meters, phase 2", "Jiaxing Power Supply", Stage.SIGNING, "210000"),
]


def _demo_board(org) -> Deal:  # type: ignore[no-untyped-def]
    now = timezone.now()
    featured = None
    org.alice.first_name, org.alice.last_name = "Alice", "Chen"  # stable names in the pictures
    org.alice.save(update_fields=["first_name", "last_name"])
    for i, (title, company, stage, amount) in enumerate(DEALS):
        account = AccountFactory(owner=org.alice, name=company, domain=company.split()[0].lower() + ".example.cn")
        ContactFactory(account=account, name=["Wang Lei", "Li Na", "Zhang Wei", "Liu Yang"][i % 4])
        deal = make_deal(
            owner=org.alice,
            stage=stage,
            title=title,
            account=account,
            amount=Decimal(amount),
            expected_close_date=datetime.date(2026, 12, 15) if stage != Stage.PREP else None,
        )
        Deal.objects.filter(pk=deal.pk).update(stage_entered_at=now - timedelta(days=3 + 4 * i))
        if i % 3 == 0:
            activity_log(
                deal=deal,
                kind=ActivityKind.TASK,
                subject="Send the proposal draft",
                actor=org.alice,
                due_at=now + timedelta(days=2),
            )
        if stage == Stage.NEEDS:
            featured = deal
    Deal.objects.filter(title="Cold-chain sensors").update(is_stale=True)
    lost = make_deal(
        owner=org.alice,
        stage=Stage.CONTACT,
        title="Lost: kiosk screens",
        account=AccountFactory(owner=org.alice, name="Changzhou Cinemas"),
    )
    deal_lose(deal=lost, reason=lost_reason(), actor=org.alice)
    activity_log(
        deal=featured,
        kind=ActivityKind.CALL,
        subject="Discovery call with IT",
        actor=org.alice,
        body="Needs SAP connector and SSO.",
    )
    activity_log(deal=featured, kind=ActivityKind.MEETING, subject="On-site workshop", actor=org.alice)
    activity_log(
        deal=featured,
        kind=ActivityKind.TASK,
        subject="Prepare the quote",
        actor=org.alice,
        due_at=now + timedelta(days=3),
    )
    api_token_create(user=org.alice, name="Trade-show scanner", scopes=["leads:write"])
    return featured


def _shoot(page, dir_, name: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(dir_ / f"{name}-{lang}.png"), full_page=True)


def test_main_pages_in_english_and_chinese(page, org, password, screenshot_dir):
    featured = _demo_board(org)
    page.goto("/accounts/login/")
    _shoot(page, screenshot_dir, "login", "en")
    page.select_option("#language-select", "zh-hans")  # the switcher works before logging in too
    page.wait_for_selector('html[lang="zh-hans"]')
    assert "登录销售梯级" in page.inner_text("h1")
    _shoot(page, screenshot_dir, "login", "zh")
    page.select_option("#language-select", "en")
    page.wait_for_selector('html[lang="en"]')
    log_in(page, "alice", password)
    account_id = featured.account_id

    for lang in ("en", "zh"):
        if lang == "zh":
            page.select_option("#language-select", "zh-hans")
            page.wait_for_selector('html[lang="zh-hans"]')
        page.goto("/pipeline/")
        board = page.locator("#board").inner_text()
        if lang == "zh":
            positions = [board.index(label) for label in CHINESE_LADDER]
            assert positions == sorted(positions)  # 销售前期准备 … 签约和实施, in ladder order
        else:
            assert "Preparation (research)" in board
            assert "Signing & delivery" in board
        _shoot(page, screenshot_dir, "pipeline", lang)
        page.goto(f"/deals/{featured.pk}/")
        _shoot(page, screenshot_dir, "deal", lang)
        page.goto("/deals/")
        _shoot(page, screenshot_dir, "deals", lang)
        page.goto("/accounts/")
        _shoot(page, screenshot_dir, "accounts", lang)
        page.goto(f"/accounts/{account_id}/")
        _shoot(page, screenshot_dir, "account", lang)
        page.goto("/contacts/")
        _shoot(page, screenshot_dir, "contacts", lang)
        page.goto("/profile/")
        _shoot(page, screenshot_dir, "profile", lang)

    # A phone: the board scrolls sideways, one column at a time.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/pipeline/")
    _shoot(page, screenshot_dir, "pipeline-phone", "zh")
    page.select_option("#language-select", "en")
    page.wait_for_selector('html[lang="en"]')
    _shoot(page, screenshot_dir, "pipeline-phone", "en")
