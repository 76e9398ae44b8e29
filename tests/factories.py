"""factory_boy factories. Deals are built through the services so their history is real."""

from __future__ import annotations

import functools
from typing import Any

import factory
from django.contrib.auth.hashers import make_password

from pipeline.models import Account, Activity, Channel, Contact, Deal, LostReason, Stage
from pipeline.services import deal_create, normalize_company_name
from salesladder.org.models import Membership, Role, Team, User

PASSWORD = "pw-for-tests-123"


@functools.cache
def hashed_password() -> str:
    """Hashed once, after tests/conftest.py has switched the run to the fast MD5 hasher."""
    return make_password(PASSWORD)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    parent = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(hashed_password)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.REP


def rep(team: Team, **kwargs: Any) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, team=team, role=Role.REP)
    return user


def manager(team: Team, **kwargs: Any) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, team=team, role=Role.MANAGER)
    return user


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n} Ltd")
    normalized_name = factory.LazyAttribute(lambda a: normalize_company_name(a.name))
    owner = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = "call"
    subject = "Call"
    owner = factory.SelfAttribute("deal.owner")


def make_deal(*, owner: User, stage: str = Stage.PREP, actor: User | None = None, **fields: Any) -> Deal:
    """A deal created through ``deal_create`` with every gate up to ``stage`` satisfied."""
    import datetime
    from decimal import Decimal

    account = fields.pop("account", None) or AccountFactory(owner=owner)
    pos = list(Stage.values).index(stage)
    if pos >= 2 and "contact" not in fields:
        fields["contact"] = ContactFactory(account=account)
    if pos >= 3:
        fields.setdefault("needs_summary", "Wants a pilot for 20 seats")
        fields.setdefault("amount", Decimal("10000.00"))
    if pos >= 4:
        fields.setdefault("expected_close_date", datetime.date(2026, 12, 31))
    if pos >= 5:
        fields.setdefault("signed_on", datetime.date(2026, 11, 20))
        fields.setdefault("contract_amount", Decimal("9500.00"))
    title = fields.pop("title", None) or f"Deal for {account.name}"
    channel = fields.pop("channel", Channel.UI)
    return deal_create(
        title=title, account=account, owner=owner, actor=actor or owner, channel=channel, stage=stage, **fields
    )


def lost_reason(code: str = "price") -> LostReason:
    return LostReason.objects.get(code=code)
