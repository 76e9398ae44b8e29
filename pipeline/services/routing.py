"""Routing rules: which team (and owner strategy) leads of a source go to."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from pipeline.models import OwnerStrategy, RoutingRule
from salesladder.errors import DomainError
from salesladder.org.models import Membership

_FIELDS = {"source", "team", "strategy", "owner", "is_active"}


def _validate(rule: RoutingRule) -> None:
    errors: dict[str, list[str]] = {}
    rule.source = (rule.source or "").strip()
    if not rule.source:
        errors["source"] = [_("This field may not be blank.")]
    elif RoutingRule.objects.filter(source=rule.source).exclude(pk=rule.pk).exists():
        errors["source"] = [_("There is already a rule for this source.")]
    if rule.strategy not in OwnerStrategy.values:
        errors["strategy"] = [_("Unknown strategy.")]
    if rule.strategy == OwnerStrategy.FIXED:
        if rule.owner_id is None:
            errors["owner"] = [_("A fixed owner is required for this strategy.")]
        elif not Membership.objects.filter(user_id=rule.owner_id, team_id=rule.team_id).exists():
            errors["owner"] = [_("The owner must be a member of the rule's team.")]
    if errors:
        raise DomainError(errors)


@transaction.atomic
def routing_rule_create(**fields: Any) -> RoutingRule:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise DomainError({f: [_("Unknown field.")] for f in sorted(unknown)})
    rule = RoutingRule(**fields)
    _validate(rule)
    rule.save()
    return rule


@transaction.atomic
def routing_rule_update(*, rule: RoutingRule, **fields: Any) -> RoutingRule:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise DomainError({f: [_("Unknown field.")] for f in sorted(unknown)})
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.strategy == OwnerStrategy.ROUND_ROBIN and "owner" not in fields:
        rule.owner = None
    _validate(rule)
    rule.save()
    return rule
