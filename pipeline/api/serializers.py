"""Pipeline API shapes.

Output serializers are read-only. Input serializers validate, restricting every referenced id to what
the caller may see (an out-of-scope id gets the same "does not exist" error as a missing one), and the
views hand the validated data to the services. Nothing here saves a model.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from pipeline.api.deal_list import datetime_renderer, money
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    Contact,
    Deal,
    DealStatus,
    DeliveryStatus,
    LostReason,
    Stage,
    StageTransition,
)
from pipeline.selectors import accounts_visible_to, contacts_visible_to, deals_visible_to
from salesladder.api.fields import ScopedPrimaryKeyRelatedField
from salesladder.org.models import Membership, Team, User
from salesladder.org.selectors import teams_visible_to, users_visible_to

CURRENCY = r"^[A-Z]{3}\Z"


def _user(serializer: serializers.Serializer) -> User:
    return serializer.context["request"].user


def _active_users_visible_to(*, user: User) -> QuerySet[User]:
    return users_visible_to(user=user).filter(is_active=True)


# --- accounts and contacts -------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "domain", "owner", "created_at", "updated_at"]
        read_only_fields = fields


class AccountWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domain = serializers.CharField(max_length=120, required=False, allow_blank=True)


class ContactSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="May be empty.")

    class Meta:
        model = Contact
        fields = ["id", "account", "name", "title", "email", "phone", "created_at", "updated_at"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    account = ScopedPrimaryKeyRelatedField(scope=accounts_visible_to, model=Account)
    name = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


# --- deals -----------------------------------------------------------------------------------


class DealSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    contact_name = serializers.CharField(source="contact.name", read_only=True, allow_null=True, default=None)
    owner_username = serializers.CharField(source="owner.username", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    lost_reason: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    delivery_status = serializers.ChoiceField(
        choices=DeliveryStatus.choices, allow_blank=True, read_only=True, help_text="Empty until the deal is won."
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "account",
            "account_name",
            "contact",
            "contact_name",
            "owner",
            "owner_username",
            "team",
            "team_name",
            "stage",
            "status",
            "stage_entered_at",
            "amount",
            "currency",
            "expected_close_date",
            "needs_summary",
            "signed_on",
            "contract_amount",
            "delivery_status",
            "source",
            "external_id",
            "notes",
            "lost_reason",
            "lost_note",
            "closed_at",
            "last_activity_at",
            "is_stale",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, deal: Deal) -> dict[str, Any]:
        """Hand-written for speed (the deal list is the hottest endpoint); the declared fields above are
        the documented shape and ``tests/api`` checks both agree. Reads the names annotated by
        ``deal_list_queryset`` when present, else the related objects."""
        row: Any = deal  # carries the annotated names, when present
        annotated = hasattr(row, "account_name")
        dt = datetime_renderer(timezone.get_current_timezone())
        return {
            "id": deal.pk,
            "title": deal.title,
            "account": deal.account_id,
            "account_name": row.account_name if annotated else deal.account.name,
            "contact": deal.contact_id,
            "contact_name": (row.contact_name if annotated else row.contact.name) if deal.contact_id else None,
            "owner": deal.owner_id,
            "owner_username": row.owner_username if annotated else deal.owner.username,
            "team": deal.team_id,
            "team_name": row.team_name if annotated else deal.team.name,
            "stage": deal.stage,
            "status": deal.status,
            "stage_entered_at": dt(deal.stage_entered_at),
            "amount": money(deal.amount),
            "currency": deal.currency,
            "expected_close_date": _date(deal.expected_close_date),
            "needs_summary": deal.needs_summary,
            "signed_on": _date(deal.signed_on),
            "contract_amount": money(deal.contract_amount),
            "delivery_status": deal.delivery_status,
            "source": deal.source,
            "external_id": deal.external_id,
            "notes": deal.notes,
            "lost_reason": (
                (row.lost_reason_code if annotated else row.lost_reason.code) if deal.lost_reason_id else None
            ),
            "lost_note": deal.lost_note,
            "closed_at": dt(deal.closed_at),
            "last_activity_at": dt(deal.last_activity_at),
            "is_stale": deal.is_stale,
            "created_at": dt(deal.created_at),
            "updated_at": dt(deal.updated_at),
        }


def _date(value: Any) -> str | None:
    return None if value is None else value.isoformat()


class _DealFieldsSerializer(serializers.Serializer):
    """The editable deal fields, with every referenced id limited to the caller's scope."""

    title = serializers.CharField(max_length=200)
    account = ScopedPrimaryKeyRelatedField(scope=accounts_visible_to, model=Account)
    contact = ScopedPrimaryKeyRelatedField(scope=contacts_visible_to, model=Contact, allow_null=True, required=False)
    owner = ScopedPrimaryKeyRelatedField(
        scope=_active_users_visible_to, model=User, required=False, help_text="Defaults to the caller."
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False)
    currency = serializers.RegexField(CURRENCY, required=False, help_text="ISO 4217 code, e.g. CNY.")
    expected_close_date = serializers.DateField(allow_null=True, required=False)
    needs_summary = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    signed_on = serializers.DateField(allow_null=True, required=False)
    contract_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    delivery_status = serializers.ChoiceField(choices=DeliveryStatus.choices, allow_blank=True, required=False)
    source = serializers.CharField(max_length=60, allow_blank=True, required=False)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=120, allow_blank=True, required=False)
    notes = serializers.CharField(allow_blank=True, required=False, max_length=10000)

    def _check_external_id(self, attrs: dict[str, Any], instance: Deal | None) -> None:
        source = attrs.get("source", instance.source if instance else "")
        external_id = attrs.get("external_id", instance.external_id if instance else "")
        if not external_id:
            return
        clash = Deal.objects.filter(source=source, external_id=external_id)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"external_id": [_("A deal from this source with this external id already exists.")]}
            )

    def _check_contact(self, attrs: dict[str, Any], instance: Deal | None) -> None:
        contact = attrs.get("contact")
        account = attrs.get("account") or (instance.account if instance else None)
        if contact is not None and account is not None and contact.account_id != account.pk:
            raise serializers.ValidationError({"contact": [_("The contact belongs to another account.")]})


class DealCreateSerializer(_DealFieldsSerializer):
    stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        help_text="Create directly at this rung (default prep); the gates of every rung up to it are checked.",
    )
    team = ScopedPrimaryKeyRelatedField(
        scope=teams_visible_to, model=Team, required=False, help_text="Defaults to the owner's team."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("owner", _user(self))
        team = attrs.get("team")
        if team is not None and not Membership.objects.filter(user=attrs["owner"], team=team).exists():
            raise serializers.ValidationError({"team": [_("The owner is not a member of this team.")]})
        self._check_contact(attrs, None)
        self._check_external_id(attrs, None)
        return attrs


class DealUpdateSerializer(_DealFieldsSerializer):
    """PATCH: any editable field. ``stage`` and ``status`` are refused: use move/, lose/ and reopen/."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refused = [f for f in ("stage", "status") if f in self.initial_data]
        if refused:
            message = _("Stage and status change only through move/, lose/ and reopen/.")
            raise serializers.ValidationError({f: [message] for f in refused})
        self._check_contact(attrs, self.instance)
        self._check_external_id(attrs, self.instance)
        return attrs


class DealMoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    expected_stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        allow_null=True,
        help_text="The stage the client believes the deal is in; 409 if it has moved meanwhile.",
    )
    # Gate fields may be filled in the same request: applied and checked in one transaction.
    contact = ScopedPrimaryKeyRelatedField(scope=contacts_visible_to, model=Contact, required=False, allow_null=True)
    needs_summary = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    signed_on = serializers.DateField(required=False, allow_null=True)
    contract_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        deal: Deal = self.context["deal"]
        contact = attrs.get("contact")
        if contact is not None and contact.account_id != deal.account_id:
            raise serializers.ValidationError({"contact": [_("The contact belongs to another account.")]})
        return attrs


def _lost_reason_field(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=LostReason.objects.filter(is_active=True), required=False, help_text=help_text
    )


def _lost_note_field(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=10000, help_text=help_text)


class DealLoseSerializer(serializers.Serializer):
    """``reason`` / ``note``, or the names the deal shows them under, ``lost_reason`` / ``lost_note``: either name
    of each (or both with the same value). ``validated_data`` always carries ``reason`` and ``note``."""

    reason = _lost_reason_field("A lost-reason code (required, here or as `lost_reason`).")
    lost_reason = _lost_reason_field("The same as `reason`, named as the deal shows it.")
    note = _lost_note_field("An optional note (or send it as `lost_note`).")
    lost_note = _lost_note_field("The same as `note`, named as the deal shows it.")
    expected_stage = serializers.ChoiceField(choices=Stage.choices, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for name, alias in (("reason", "lost_reason"), ("note", "lost_note")):
            if name in attrs and alias in attrs and attrs[name] != attrs[alias]:
                errors[alias] = [
                    _("%(alias)s and %(name)s differ: send one of them, or the same value in both.")
                    % {"alias": alias, "name": name}
                ]
        if errors:
            raise serializers.ValidationError(errors)
        reason = attrs.pop("lost_reason", None) or attrs.get("reason")
        if reason is None:
            raise serializers.ValidationError({"reason": [self.fields["reason"].error_messages["required"]]})
        attrs["reason"] = reason
        attrs["note"] = attrs.pop("lost_note", attrs.get("note", ""))
        return attrs


class StageTransitionSerializer(serializers.ModelSerializer):
    from_stage = serializers.ChoiceField(
        choices=Stage.choices, allow_blank=True, read_only=True, help_text="Empty for the creation."
    )
    from_status = serializers.ChoiceField(
        choices=DealStatus.choices, allow_blank=True, read_only=True, help_text="Empty for the creation."
    )

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "kind",
            "from_stage",
            "to_stage",
            "from_status",
            "to_status",
            "occurred_at",
            "actor",
            "channel",
            "owner",
            "team",
        ]
        read_only_fields = fields


# --- activities ------------------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    is_done = serializers.BooleanField(read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "deal", "kind", "subject", "body", "due_at", "done_at", "is_done", "owner", "created_at"]
        read_only_fields = fields


class ActivityCreateSerializer(serializers.Serializer):
    deal = ScopedPrimaryKeyRelatedField(scope=deals_visible_to, model=Deal)
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    done = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Default: tasks open, everything else done."
    )
