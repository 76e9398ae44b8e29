"""django-filter FilterSets for quotas and tiers (the querysets handed in are already scoped)."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from pipeline.models import Stage
from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from targets.models import IncentiveTier, Quota, TierMeasure
from targets.quota_selectors import period_from_key


class PeriodFormField(forms.CharField):
    """A period key, validated and normalised (``2026-w48`` → ``2026-W48``) by the form, so a bad key is a 400."""

    def clean(self, value: str | None) -> str | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            return period_from_key(value).key
        except DomainError as exc:
            raise ValidationError(next(iter(exc.errors.values()))[0]) from None


class PeriodFilter(django_filters.CharFilter):
    field_class = PeriodFormField


class QuotaFilterSet(django_filters.FilterSet):
    period = PeriodFilter(label=_("Period (2026-11, 2026-W48, 2026-Q4)"))
    user = django_filters.ModelChoiceFilter(label=_("Rep"), queryset=User.objects.all())
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())
    stage = django_filters.MultipleChoiceFilter(label=_("Stage"), choices=Stage.choices)

    class Meta:
        model = Quota
        fields = ["period", "user", "team", "stage"]


class TierFilterSet(django_filters.FilterSet):
    period = PeriodFilter(label=_("Period (2026-11, 2026-W48, 2026-Q4)"))
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())
    organisation = django_filters.BooleanFilter(
        label=_("Organisation-wide tiers only"), field_name="team", lookup_expr="isnull"
    )
    measure = django_filters.ChoiceFilter(label=_("Measure"), choices=TierMeasure.choices)

    class Meta:
        model = IncentiveTier
        fields = ["period", "team", "organisation", "measure"]
