"""Filters of the review list (API and pages). The queryset handed in is already scoped."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from reviews.models import Review, ReviewStatus
from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.selectors import team_descendant_ids
from targets.periods import Period


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
    user = django_filters.ModelChoiceFilter(label=_("Rep"), queryset=User.objects.all())
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=ReviewStatus.choices)
    team = django_filters.ModelChoiceFilter(
        label=_("Team (with sub-teams)"), queryset=Team.objects.all(), method="filter_team"
    )

    class Meta:
        model = Review
        fields = ["period", "user", "status", "team"]

    def filter_period(self, queryset: QuerySet[Review], name: str, value: str) -> QuerySet[Review]:
        return queryset.filter(period=parse_period_param(value).key)

    def filter_team(self, queryset: QuerySet[Review], name: str, value: Team) -> QuerySet[Review]:
        return queryset.filter(cycle__team_id__in=team_descendant_ids(team_ids=[value.pk]))
