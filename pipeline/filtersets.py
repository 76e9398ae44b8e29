"""django-filter FilterSets shared by the REST API and the HTML lists.

The queryset handed to a FilterSet is already scoped (``deals_visible_to`` etc.); filters only narrow it.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField
from drf_spectacular.utils import extend_schema_field

from pipeline.models import Account, Activity, ActivityKind, Contact, Deal, DealStatus, Stage
from pipeline.selectors import accounts_visible_to
from salesladder.org.models import Team, User
from salesladder.org.selectors import team_descendant_ids, teams_visible_to, users_visible_to


# The choices of the owner/team/account filters are the caller's own scope, so an id outside it is rejected
# exactly like an id that does not exist (no existence leak through the filters).
def _visible_users(request: HttpRequest | None) -> QuerySet[User]:
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return users_visible_to(user=request.user).order_by("username")  # type: ignore[arg-type]  # narrowed above


def _visible_teams(request: HttpRequest | None) -> QuerySet[Team]:
    if request is None or not request.user.is_authenticated:
        return Team.objects.none()
    return teams_visible_to(user=request.user).order_by("name")  # type: ignore[arg-type]  # narrowed above


def _visible_accounts(request: HttpRequest | None) -> QuerySet[Account]:
    if request is None or not request.user.is_authenticated:
        return Account.objects.none()
    return accounts_visible_to(user=request.user).order_by("name")  # type: ignore[arg-type]  # narrowed above


class UserIdOrUsernameField(ModelChoiceField):
    """A visible user by id (all digits, as everywhere in the API) or else by username (exact, as the analytics'
    ``?user=``). One query either way; a name or id outside the caller's scope is the same "not one of the
    available choices" error as one that does not exist."""

    def to_python(self, value: Any) -> Any:
        name = value.strip() if isinstance(value, str) else ""
        if not name or (name.isascii() and name.isdigit()):
            return super().to_python(value)
        self.validate_no_null_characters(name)
        user = self.queryset.filter(username=name).first()
        if user is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": name})
        return user


@extend_schema_field({"type": "string", "description": "A user id or a username (all digits: an id)."})
class UserIdOrUsernameFilter(django_filters.ModelChoiceFilter):
    field_class = UserIdOrUsernameField


class DealFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("Search"), method="filter_search")
    owner = UserIdOrUsernameFilter(label=_("Owner"), queryset=_visible_users)
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), queryset=_visible_teams, method="filter_team", help_text=_("Includes its sub-teams.")
    )
    stage = django_filters.MultipleChoiceFilter(label=_("Stage"), choices=Stage.choices)
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=DealStatus.choices)
    source = django_filters.CharFilter(label=_("Source"), field_name="source")
    created_after = django_filters.IsoDateTimeFilter(
        label=_("Created after"), field_name="created_at", lookup_expr="gte"
    )
    updated_after = django_filters.IsoDateTimeFilter(
        label=_("Updated after"), field_name="updated_at", lookup_expr="gte"
    )
    account = django_filters.ModelChoiceFilter(label=_("Account"), queryset=_visible_accounts)
    is_stale = django_filters.BooleanFilter(label=_("Stale"), field_name="is_stale")

    class Meta:
        model = Deal
        fields = ["search", "owner", "team", "stage", "status", "source", "created_after", "updated_after"]

    def filter_team(self, queryset: QuerySet[Deal], name: str, value: Team | None) -> QuerySet[Deal]:
        if value is None:
            return queryset
        return queryset.filter(team_id__in=team_descendant_ids(team_ids=[value.pk]))

    def filter_search(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(account__name__icontains=value)
            | Q(contact__name__icontains=value)
            | Q(external_id__iexact=value)
        )


class AccountFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("Search"), method="filter_search")
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_visible_users)

    class Meta:
        model = Account
        fields = ["search", "owner"]

    def filter_search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))


class ContactFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(label=_("Search"), method="filter_search")
    account = django_filters.ModelChoiceFilter(label=_("Account"), queryset=_visible_accounts)

    class Meta:
        model = Contact
        fields = ["search", "account"]

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value) | Q(title__icontains=value)
        )


class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number (``1.5`` or ``1e30`` are input errors, not database errors)."""

    field_class = forms.IntegerField


class ActivityFilterSet(django_filters.FilterSet):
    deal = IdFilter(label=_("Deal"), field_name="deal_id")
    kind = django_filters.MultipleChoiceFilter(label=_("Kind"), choices=ActivityKind.choices)
    done = django_filters.BooleanFilter(label=_("Done"), method="filter_done")

    class Meta:
        model = Activity
        fields = ["deal", "kind", "done"]

    def filter_done(self, queryset: QuerySet[Activity], name: str, value: bool | None) -> QuerySet[Activity]:
        if value is None:
            return queryset
        return queryset.filter(done_at__isnull=not value)
