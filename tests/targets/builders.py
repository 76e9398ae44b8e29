"""Fast history builders for the counting tests: deals and StageTransition rows written in bulk with
chosen times (the pipeline services are exercised in tests/pipeline; here the counting is the point)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pipeline.models import STAGE_POSITION, Account, Deal, DealStatus, Stage, StageTransition, TransitionKind
from salesladder.org.models import Team, User
from targets.models import Quota
from targets.periods import Period

STAGES = list(Stage.values)
DEFAULT_LADDER = [100, 50, 20, 10, 5, 3]


def new_deals(*, owner: User, team: Team, n: int, at: datetime, stage: str = Stage.PREP, **fields) -> list[Deal]:
    account = Account.objects.create(name=f"Acme {owner.pk}-{at:%s}", normalized_name="acme", owner=owner)
    status = DealStatus.WON if stage == Stage.SIGNING else DealStatus.OPEN
    return Deal.objects.bulk_create(
        [
            Deal(
                title=f"deal {i}",
                account=account,
                owner=owner,
                team=team,
                stage=stage,
                status=status,
                created_at=at,
                stage_entered_at=at,
                last_activity_at=at,
                **fields,
            )
            for i in range(n)
        ]
    )


def tr(
    deal: Deal,
    kind: str,
    to_stage: str,
    at: datetime,
    *,
    owner: User | None = None,
    team: Team | None = None,
    from_stage: str = "",
) -> StageTransition:
    to_status = DealStatus.WON if to_stage == Stage.SIGNING and kind != TransitionKind.LOSE else DealStatus.OPEN
    if kind == TransitionKind.LOSE:
        to_status = DealStatus.LOST
    return StageTransition(
        deal=deal,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        from_status="" if kind == TransitionKind.CREATE else DealStatus.OPEN,
        to_status=to_status,
        occurred_at=at,
        channel="import",
        owner_id=(owner or deal.owner).pk,
        team_id=(team or deal.team).pk,
    )


def ladder(*, owner: User, team: Team, counts: Sequence[int], at: datetime) -> list[Deal]:
    """``counts[0]`` deals created at ``at``; the first ``counts[i]`` of them climb to rung i (one forward
    transition per rung, same timestamp). Deal rows end at their top rung (won at signing)."""
    deals = new_deals(owner=owner, team=team, n=counts[0], at=at)
    rows = []
    for i, deal in enumerate(deals):
        top = max(k for k, c in enumerate(counts) if i < c)
        rows.append(tr(deal, TransitionKind.CREATE, STAGES[0], at))
        for k in range(1, top + 1):
            rows.append(tr(deal, TransitionKind.FORWARD, STAGES[k], at, from_stage=STAGES[k - 1]))
        deal.stage = STAGES[top]
        deal.status = DealStatus.WON if STAGES[top] == Stage.SIGNING else DealStatus.OPEN
        deal.amount = Decimal("1000.00")
    StageTransition.objects.bulk_create(rows)
    Deal.objects.bulk_update(deals, ["stage", "status", "amount"])
    return deals


def set_quotas(*, user: User, period: Period, values: Sequence[int] = DEFAULT_LADDER) -> None:
    Quota.objects.bulk_create(
        [Quota(period=period.key, user=user, stage=s, value=v) for s, v in zip(STAGES, values, strict=True)]
    )


assert STAGE_POSITION  # the ladder order the builders rely on
