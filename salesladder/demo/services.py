"""The demo organisation behind ``manage.py seed_demo`` (SPEC §10).

Deterministic: one ``random.Random(seed)`` drives every choice and every timestamp is placed relative to
``anchor`` (a date in the organisation's time zone), so the same seed and anchor give the same data.
History ends at the start of the anchor day, so nothing lies in the future except due dates of open tasks.

Every deal, move, loss, reopening and activity goes through the pipeline services with their ``at=``
parameter, so the stage history is real and back-dated. Three bookkeeping updates follow that the
services cannot back-date: the nightly stale flag (as the nightly job would set it), and the creation
timestamps of accounts and contacts and the deals' ``updated_at`` (so lists sort as they would after
months of use).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import DateTimeField, Max, Min, OuterRef, Subquery
from django.db.models.functions import Greatest

from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    Channel,
    Contact,
    Deal,
    DealStatus,
    DeliveryStatus,
    LostReason,
    Stage,
    StageConfig,
    StageTransition,
)
from pipeline.services import (
    account_create,
    activity_complete,
    activity_log,
    contact_create,
    deal_create,
    deal_lose,
    deal_move,
    deal_reopen,
    deal_update,
)
from salesladder.demo import names
from salesladder.org.models import Role, Team, User
from salesladder.org.services import team_create, user_create

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "demo12345"  # SPEC §10: demo only
DEFAULT_SEED = 20261127
HISTORY_MONTHS = 6  # whole months before the anchor's month; the anchor's month so far comes on top

# Extension hooks: modules of higher apps called after the pipeline data, if they exist.
DEMO_HOOKS = [("targets.demo", "seed_demo_targets"), ("reviews.demo", "seed_demo_reviews")]


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    team: str
    role: Role
    monthly_leads: int = 0  # new deals per month (reps)
    skill: float = 1.0  # multiplies the chance to climb each rung


TEAMS = ["East", "West"]
PEOPLE = [
    Person("manager", "Mei", "Lin", "East", Role.MANAGER),
    Person("alice", "Alice", "Zhang", "East", Role.REP, monthly_leads=26, skill=1.15),
    Person("bob", "Bob", "Wang", "East", Role.REP, monthly_leads=22, skill=1.0),
    Person("carol", "Carol", "Li", "East", Role.REP, monthly_leads=16, skill=0.9),
    Person("mgr_west", "Wei", "Zhou", "West", Role.MANAGER),
    Person("dave", "Dave", "Chen", "West", Role.REP, monthly_leads=20, skill=1.05),
]

# Chance to climb from each rung to the next: the source document's 100 / 50 / 20 / 10 / 5 / 3 shape.
CLIMB = {Stage.PREP: 0.5, Stage.CONTACT: 0.4, Stage.NEEDS: 0.5, Stage.PROPOSAL: 0.5, Stage.NEGOTIATION: 0.6}
# Days a deal usually spends on a rung before something happens (a move, a loss).
DWELL = {Stage.PREP: (1, 6), Stage.CONTACT: (2, 12), Stage.NEEDS: (4, 16), Stage.PROPOSAL: (5, 20)}
DWELL[Stage.NEGOTIATION] = (7, 28)
LOST_WEIGHTS = {"price": 25, "competitor": 20, "no_budget": 14, "no_decision": 22, "timing": 10, "requirements": 7}
SOURCES = ["website", "referral", "trade-show", "cold-call", "partner", ""]


@dataclass
class DemoSummary:
    anchor: date
    users: int = 0
    teams: int = 0
    accounts: int = 0
    deals: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    stale: int = 0
    activities: int = 0
    transitions: int = 0
    hooks: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    rng: random.Random
    tz: ZoneInfo
    end: datetime  # start of the anchor day: history stops here
    anchor: date
    reasons: list[LostReason]
    reason_weights: list[int]
    accounts: dict[int, list[tuple[Account, Contact]]] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)


def demo_exists() -> bool:
    return User.objects.filter(username="admin").exists()


@transaction.atomic
def seed_demo(*, anchor: date, seed: int = DEFAULT_SEED, hooks: bool = True) -> DemoSummary:
    """Create the demo organisation and its history up to ``anchor`` (exclusive). Refuses a second run.

    ``hooks=False`` skips the targets/reviews extensions (tests of the pipeline data alone).
    """
    tz = ZoneInfo(settings.TIME_ZONE)
    reasons = list(LostReason.objects.filter(is_active=True).order_by("position", "code"))
    ctx = _Ctx(
        rng=random.Random(seed),
        tz=tz,
        end=datetime.combine(anchor, time(0, 0), tzinfo=tz),
        anchor=anchor,
        reasons=reasons,
        reason_weights=[LOST_WEIGHTS.get(r.code, 2) for r in reasons],
    )
    teams, users = _seed_org()
    reps = [(p, users[p.username], teams[p.team]) for p in PEOPLE if p.role == Role.REP]
    for month_start in _months(anchor):
        for person, user, team in reps:
            for created_at in _creation_times(ctx, month_start, person):
                _simulate_deal(ctx, person=person, rep=user, team=team, created_at=created_at)
    _finish(ctx)
    summary = _summary(ctx, users=len(users), teams=len(teams))
    summary.hooks = _run_hooks(anchor=anchor) if hooks else []
    return summary


# --- organisation ----------------------------------------------------------------------------


def _seed_org() -> tuple[dict[str, Team], dict[str, User]]:
    teams = {name: team_create(name=name) for name in TEAMS}
    users = {"admin": user_create(username="admin", email="admin@example.com", first_name="Admin", is_superuser=True)}
    for p in PEOPLE:
        users[p.username] = user_create(
            username=p.username,
            email=f"{p.username}@example.com",
            team=teams[p.team],
            role=p.role,
            first_name=p.first_name,
            last_name=p.last_name,
        )
    # One hash for the shared demo password instead of seven (each costs about 0.4 s of CPU).
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(password=make_password(DEMO_PASSWORD))
    return teams, users


# --- time ------------------------------------------------------------------------------------


def _months(anchor: date) -> list[date]:
    first = anchor.replace(day=1)
    months = []
    for back in range(HISTORY_MONTHS, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        months.append(date(year, month + 1, 1))
    return months


def _workday(ctx: _Ctx, day: date) -> datetime:
    """A business-hours moment on ``day`` (weekends roll to Monday)."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(ctx.rng.randint(9, 17), ctx.rng.randrange(0, 60, 5)), tzinfo=ctx.tz)


def _later(ctx: _Ctx, t: datetime, days: tuple[float, float]) -> datetime:
    """A business-hours moment at least ``days[0]`` (>= 1) days after ``t``: always on a later day."""
    return _workday(ctx, (t + timedelta(days=ctx.rng.uniform(*days))).astimezone(ctx.tz).date())


def _between(ctx: _Ctx, start: datetime, stop: datetime, n: int) -> list[datetime]:
    span = (stop - start).total_seconds()
    if span <= 120:
        return []
    return sorted(start + timedelta(seconds=ctx.rng.uniform(60, span - 60)) for _ in range(n))


def _creation_times(ctx: _Ctx, month_start: date, person: Person) -> list[datetime]:
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    last = min(next_month, ctx.anchor)
    if last <= month_start:
        return []
    share = (last - month_start).days / (next_month - month_start).days
    growth = 0.85 + 0.04 * (month_start.month % 6)  # months differ, so trends have a shape
    count = round(person.monthly_leads * share * growth * ctx.rng.uniform(0.85, 1.15))
    days = (last - month_start).days
    times = [_workday(ctx, month_start + timedelta(days=ctx.rng.randrange(days))) for _ in range(count)]
    return sorted(t for t in times if t < ctx.end)


# --- accounts and contacts -------------------------------------------------------------------


def _company(ctx: _Ctx) -> tuple[str, str, bool]:
    rng = ctx.rng
    while True:
        if rng.random() < 0.6:
            city, city_py = rng.choice(names.CN_CITIES)
            core, core_py = rng.choice(names.CN_CORES)
            name = f"{city}{core}{rng.choice(names.CN_INDUSTRIES)}{rng.choice(names.CN_SUFFIXES)}"
            domain, chinese = f"{core_py}-{city_py}.com.cn", True
        else:
            first = rng.choice(names.EN_FIRST)
            industry = rng.choice(names.EN_INDUSTRIES)
            name = f"{first} {industry} {rng.choice(names.EN_SUFFIXES)}"
            domain, chinese = f"{first}{industry}.com".lower(), False
        if name not in ctx.used_names:
            ctx.used_names.add(name)
            return name, domain, chinese


def _contact(ctx: _Ctx, account: Account, domain: str, chinese: bool) -> Contact:
    rng = ctx.rng
    if chinese:
        (surname, s_py), (given, g_py) = rng.choice(names.CN_SURNAMES), rng.choice(names.CN_GIVEN)
        name, local, title = f"{surname}{given}", f"{g_py}.{s_py}", rng.choice(names.CN_TITLES)
        phone = f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    else:
        first, last = rng.choice(names.EN_FIRST_NAMES), rng.choice(names.EN_LAST_NAMES)
        name, local, title = (
            f"{first} {last}",
            f"{first}.{last}".lower().replace("ü", "ue"),
            rng.choice(names.EN_TITLES),
        )
        phone = f"+{rng.choice(['1 415', '44 20', '49 30', '65 6'])} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return contact_create(account=account, name=name, email=f"{local}@{domain}", phone=phone, title=title)


def _account(ctx: _Ctx, rep: User) -> tuple[Account, Contact, bool]:
    """A new customer, or (one deal in five) repeat business with one the rep already has."""
    mine = ctx.accounts.setdefault(rep.pk, [])
    if mine and ctx.rng.random() < 0.2:
        account, contact = ctx.rng.choice(mine)
        return account, contact, not account.name.isascii()
    name, domain, chinese = _company(ctx)
    account = account_create(name=name, owner=rep, domain=domain)
    contact = _contact(ctx, account, domain, chinese)
    mine.append((account, contact))
    return account, contact, chinese


# --- deals -----------------------------------------------------------------------------------


def _amount(ctx: _Ctx) -> Decimal:
    value = min(max(ctx.rng.lognormvariate(11.3, 0.8), 8_000), 3_000_000)  # median about CNY 80,000
    return Decimal(int(round(value, -3)))


def _climbs(ctx: _Ctx, stage: str, person: Person) -> bool:
    return ctx.rng.random() < min(CLIMB[Stage(stage)] * person.skill, 0.95)


def _needs_text(ctx: _Ctx) -> str:
    return ctx.rng.choice(names.NEEDS).format(n=ctx.rng.choice([5, 12, 20, 40, 80, 150]), q=ctx.rng.randint(1, 4))


def _fields_for(ctx: _Ctx, deal: Deal, target: str, at: datetime) -> dict[str, Any]:
    """Whatever the gates up to ``target`` still miss, filled in as a rep would when moving the deal."""
    pos = Stage.values.index(target)
    fields: dict[str, Any] = {}
    if pos >= Stage.values.index(Stage.PROPOSAL):
        if not deal.needs_summary:
            fields["needs_summary"] = _needs_text(ctx)
        if not deal.amount:
            fields["amount"] = _amount(ctx)
    if pos >= Stage.values.index(Stage.NEGOTIATION) and not deal.expected_close_date:
        fields["expected_close_date"] = at.astimezone(ctx.tz).date() + timedelta(days=ctx.rng.randint(14, 75))
    if target == Stage.SIGNING:
        amount = fields.get("amount") or deal.amount or _amount(ctx)
        fields["signed_on"] = at.astimezone(ctx.tz).date()
        fields["contract_amount"] = Decimal(int(round(float(amount) * ctx.rng.uniform(0.85, 1.0), -2)))
    return fields


def _log_activities(ctx: _Ctx, deal: Deal, rep: User, start: datetime, stop: datetime, busy: float = 1.0) -> None:
    """Calls, e-mails, meetings, notes and finished tasks between two events of a deal."""
    rng = ctx.rng
    n = rng.choices([0, 1, 2, 3], weights=[1, 4, 3, 2])[0] if busy >= 1 else rng.choice([0, 1])
    for at in _between(ctx, start, stop, n):
        kind = rng.choices(
            [ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.NOTE, ActivityKind.TASK],
            weights=[5, 5, 2, 2, 2],
        )[0]
        pool = {
            ActivityKind.CALL: names.CALLS,
            ActivityKind.EMAIL: names.EMAILS,
            ActivityKind.MEETING: names.MEETINGS,
            ActivityKind.NOTE: names.NOTES,
            ActivityKind.TASK: names.TASKS,
        }[kind]
        if kind == ActivityKind.TASK:
            due = at + timedelta(days=rng.randint(1, 5))
            task = activity_log(deal=deal, kind=kind, subject=rng.choice(pool), actor=rep, due_at=due, at=at)
            done = min(at + timedelta(days=rng.uniform(0.2, 4)), stop - timedelta(seconds=30))
            activity_complete(activity=task, actor=rep, at=done)
        else:
            activity_log(deal=deal, kind=kind, subject=rng.choice(pool), actor=rep, at=at)


def _title(ctx: _Ctx, account: Account, chinese: bool) -> str:
    product_en, product_zh = ctx.rng.choice(names.PRODUCTS)
    if chinese:
        short = account.name
        for suffix in sorted(names.CN_SUFFIXES, key=len, reverse=True):
            if short.endswith(suffix):
                short = short.removesuffix(suffix)
                break
        return f"{short} {product_zh}"
    return f"{product_en} – {account.name.split(' ')[0]}"


def _simulate_deal(ctx: _Ctx, *, person: Person, rep: User, team: Team, created_at: datetime) -> None:
    """One deal's life: created, then climb / lose / stall rung by rung until history ends."""
    rng = ctx.rng
    account, contact, chinese = _account(ctx, rep)
    inbound = rng.random() < 0.12  # a warm lead starts at first contact
    extra: dict[str, Any] = {"contact": contact} if inbound or rng.random() < 0.5 else {}
    if rng.random() < 0.35:
        extra["amount"] = _amount(ctx)
    deal = deal_create(
        title=_title(ctx, account, chinese),
        account=account,
        owner=rep,
        team=team,
        actor=rep,
        channel=Channel.API if inbound else Channel.UI,
        stage=Stage.CONTACT if inbound else Stage.PREP,
        at=created_at,
        source=rng.choice(SOURCES[:2]) if inbound else rng.choice(SOURCES),
        **extra,
    )
    t, went_back, neglected = created_at, False, rng.random() < 0.05
    while deal.status == DealStatus.OPEN:
        t_next = _later(ctx, t, DWELL[Stage(deal.stage)])
        if t_next >= ctx.end:
            break  # still open today
        _log_activities(ctx, deal, rep, t, t_next)
        if deal.stage == Stage.PROPOSAL and not went_back and rng.random() < 0.06:
            went_back = True  # the customer reopens the requirements
            deal = deal_move(deal=deal, to_stage=Stage.NEEDS, actor=rep, at=t_next)
        elif _climbs(ctx, deal.stage, person):
            target = Stage.values[Stage.values.index(deal.stage) + 1]
            if target in (Stage.CONTACT, Stage.NEEDS) and rng.random() < 0.1:
                target = Stage.values[Stage.values.index(target) + 1]  # a quick customer: skip a rung
            fields = _fields_for(ctx, deal, target, t_next)
            if not deal.contact_id:
                fields["contact"] = contact
            deal = deal_move(deal=deal, to_stage=target, actor=rep, fields=fields, at=t_next)
        elif rng.random() < 0.92:
            deal, t_next = _lose(ctx, deal, rep, t_next)
            if deal.status == DealStatus.OPEN:
                neglected = False
        else:
            neglected = rng.random() < 0.6  # stalled; often nobody touches it any more
            break
        t = t_next
    if deal.status == DealStatus.WON:
        _deliver(ctx, deal, rep, t)
    elif deal.status == DealStatus.OPEN:
        _keep_warm(ctx, deal, rep, t, neglected)


def _lose(ctx: _Ctx, deal: Deal, rep: User, at: datetime) -> tuple[Deal, datetime]:
    """Lose the deal; now and then the customer comes back and it is reopened later. Returns the last event time."""
    reason = ctx.rng.choices(ctx.reasons, weights=ctx.reason_weights)[0]
    note = ctx.rng.choice(names.LOST_NOTES.get(reason.code, [""]))
    deal = deal_lose(deal=deal, reason=reason, note=note, actor=rep, at=at)
    if ctx.rng.random() < 0.05:
        back = _later(ctx, at, (10, 40))
        if back < ctx.end:
            return deal_reopen(deal=deal, actor=rep, at=back), back
    return deal, at


def _deliver(ctx: _Ctx, deal: Deal, rep: User, signed_at: datetime) -> None:
    days = (ctx.end - signed_at).days
    if days > 45:
        status = DeliveryStatus.DELIVERED if ctx.rng.random() < 0.7 else DeliveryStatus.IN_PROGRESS
    elif days > 10:
        status = DeliveryStatus.IN_PROGRESS if ctx.rng.random() < 0.7 else DeliveryStatus.NOT_STARTED
    else:
        return
    deal_update(deal=deal, actor=rep, delivery_status=status)
    _log_activities(ctx, deal, rep, signed_at, min(signed_at + timedelta(days=days), ctx.end), busy=0.5)


def _keep_warm(ctx: _Ctx, deal: Deal, rep: User, since: datetime, neglected: bool) -> None:
    """Recent touches and an open task for a deal someone works on; nothing for a neglected one."""
    if neglected:
        return
    recent = max(since, ctx.end - timedelta(days=9))
    _log_activities(ctx, deal, rep, recent, ctx.end)
    if ctx.rng.random() < 0.6:
        at = _between(ctx, recent, ctx.end, 1) or [since]
        due = datetime.combine(
            ctx.anchor + timedelta(days=ctx.rng.randint(-2, 10)), time(ctx.rng.randint(9, 17)), tzinfo=ctx.tz
        )
        subject = ctx.rng.choice(names.TASKS)
        activity_log(deal=deal, kind=ActivityKind.TASK, subject=subject, actor=rep, due_at=due, at=at[0])


# --- finishing -------------------------------------------------------------------------------


def _finish(ctx: _Ctx) -> None:
    # The stale flag as the nightly job sets it: open deals untouched for the rung's stale days.
    for stage, days in StageConfig.objects.exclude(stale_days__isnull=True).values_list("stage", "stale_days"):
        Deal.objects.filter(
            status=DealStatus.OPEN, stage=stage, last_activity_at__lt=ctx.end - timedelta(days=days or 0)
        ).update(is_stale=True)
    # Back-date what the services stamp with "now", so lists sort as after months of use.
    first_deal = Deal.objects.filter(account=OuterRef("pk")).order_by().values("account")
    Account.objects.update(
        created_at=Subquery(first_deal.annotate(m=Min("created_at")).values("m")[:1]),
        updated_at=Subquery(first_deal.annotate(m=Min("created_at")).values("m")[:1]),
    )
    Contact.objects.update(
        created_at=Subquery(Account.objects.filter(pk=OuterRef("account_id")).values("created_at")[:1]),
        updated_at=Subquery(Account.objects.filter(pk=OuterRef("account_id")).values("created_at")[:1]),
    )
    last_change = StageTransition.objects.filter(deal=OuterRef("pk")).order_by().values("deal")
    Deal.objects.update(
        updated_at=Greatest(
            Subquery(last_change.annotate(m=Max("occurred_at")).values("m")[:1], output_field=DateTimeField()),
            "last_activity_at",
        )
    )


def _summary(ctx: _Ctx, *, users: int, teams: int) -> DemoSummary:
    deals = Deal.objects.all()
    return DemoSummary(
        anchor=ctx.anchor,
        users=users,
        teams=teams,
        accounts=Account.objects.count(),
        deals=deals.count(),
        won=deals.filter(status=DealStatus.WON).count(),
        lost=deals.filter(status=DealStatus.LOST).count(),
        open=deals.filter(status=DealStatus.OPEN).count(),
        stale=deals.filter(is_stale=True).count(),
        activities=Activity.objects.count(),
        transitions=StageTransition.objects.count(),
    )


def _run_hooks(*, anchor: date) -> list[str]:
    """Call ``targets.demo.seed_demo_targets`` and ``reviews.demo.seed_demo_reviews`` when those apps have them."""
    ran = []
    for module_name, function_name in DEMO_HOOKS:
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        getattr(importlib.import_module(module_name), function_name)(anchor=anchor)
        ran.append(f"{module_name}.{function_name}")
    return ran
