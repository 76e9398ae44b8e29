"""Filters of the review list (API and pages). The queryset handed in is already scoped."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from reviews.models import ActionItem, Review, ReviewStatus
from salesladder.errors import DomainError
from salesladder.org.selectors import team_descendant_ids
from targets.periods import Period

ID_BOUNDS: dict[str, Any] = {"min_value": 1, "max_value": 2**62, "decimal_places": 0}


def parse_period_param(value: str, *, field: str = "period") -> Period:
    """A period from a query parameter; anything unparsable (also year 0 or 9999-12) is a 400 on ``field``."""
    try:
        return Period.parse(value)
    except DomainError as exc:
        raise ValidationError({field: exc.errors.get("period", [])}) from exc
    except (ValueError, OverflowError) as exc:
        raise ValidationError({field: [_("This period is out of range.")]}) from exc


class ReviewFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(label=_("Period"), method="filter_period")
    # Plain ids, not model choices: an unknown id and one outside the caller's scope both just match nothing.
    user = django_filters.NumberFilter(label=_("Rep"), field_name="user_id", **ID_BOUNDS)
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=ReviewStatus.choices)
    team = django_filters.NumberFilter(label=_("Team (with sub-teams)"), method="filter_team", **ID_BOUNDS)

    class Meta:
        model = Review
        fields = ["period", "user", "status", "team"]

    def filter_period(self, queryset: QuerySet[Review], name: str, value: str) -> QuerySet[Review]:
        return queryset.filter(period=parse_period_param(value).key)

    def filter_team(self, queryset: QuerySet[Review], name: str, value: Any) -> QuerySet[Review]:
        return queryset.filter(cycle__team_id__in=team_descendant_ids(team_ids=[int(value)]))


class ActionItemFilterSet(django_filters.FilterSet):
    review = django_filters.NumberFilter(label=_("Review"), field_name="review_id", **ID_BOUNDS)

    class Meta:
        model = ActionItem
        fields = ["review"]
