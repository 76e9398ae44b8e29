"""The SPEC's worked example as data: one rep's deals entering 100/50/20/10/5/3 on a given day."""

from __future__ import annotations

from datetime import datetime

from pipeline.models import Stage
from salesladder.org.models import User
from tests.factories import AccountFactory, make_deal

# how many deals stop at each stage so that entered = 100, 50, 20, 10, 5, 3
STOPS = {
    Stage.PREP: 50,
    Stage.CONTACT: 30,
    Stage.NEEDS: 10,
    Stage.PROPOSAL: 5,
    Stage.NEGOTIATION: 2,
    Stage.SIGNING: 3,
}
ENTERED = [100, 50, 20, 10, 5, 3]


def climb_example(*, owner: User, at: datetime, scale: int = 1) -> None:
    account = AccountFactory(owner=owner)
    for stage, n in STOPS.items():
        for _ in range(n * scale):
            make_deal(owner=owner, stage=stage, at=at, account=account)
