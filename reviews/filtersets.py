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
        try:
            period = Period.parse(value)
        except DomainError as exc:
            raise ValidationError(exc.errors) from exc
        return queryset.filter(period=period.key)

    def filter_team(self, queryset: QuerySet[Review], name: str, value: Team) -> QuerySet[Review]:
        return queryset.filter(cycle__team_id__in=team_descendant_ids(team_ids=[value.pk]))
