"""HTML forms. They validate input and label fields; the views pass ``cleaned_data`` to the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from pipeline.models import Account, ActivityKind, Contact, Deal, DeliveryStatus, GateField, Stage
from pipeline.selectors import accounts_visible_to, lost_reasons_active
from salesladder.errors import DomainError
from salesladder.org.models import User
from salesladder.org.selectors import users_visible_to


def add_domain_errors(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's field-level errors next to the form's fields (unknown fields go on top)."""
    for field, messages in error.errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MonthField(forms.CharField):
    """``2026-12`` from an ``<input type="month">``; cleans to the first day of that month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value: Any) -> datetime.date | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        try:
            return datetime.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 (a calendar month, no time)
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from exc


class BoardFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    stale = forms.BooleanField(label=_("Stale only"), required=False)
    close_month = MonthField(label=_("Expected close month"), required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, user: User, can_pick_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": _("Deal, company or contact")})
        if can_pick_owner:
            owner = cast(forms.ModelChoiceField, self.fields["owner"])
            owner.queryset = users_visible_to(user=user).order_by("first_name", "username")
            owner.empty_label = _("Everyone")
        else:
            del self.fields["owner"]


class QuickAddDealForm(forms.Form):
    title = forms.CharField(label=_("Deal title"), max_length=200)
    company = forms.CharField(
        label=_("Company"),
        max_length=200,
        help_text=_("Pick an existing account or type a new company name."),
    )
    amount = forms.DecimalField(
        label=_("Amount"), required=False, max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )


class DealForm(forms.ModelForm):
    """Edits a deal's fields (never stage or status). Saved through ``deal_update``, not ``save()``."""

    class Meta:
        model = Deal
        fields = [
            "title",
            "contact",
            "owner",
            "amount",
            "currency",
            "expected_close_date",
            "needs_summary",
            "signed_on",
            "contract_amount",
            "delivery_status",
            "source",
            "notes",
        ]
        widgets = {
            "expected_close_date": DateInput(),
            "signed_on": DateInput(),
            "needs_summary": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, user: User, can_pick_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["contact"]).queryset = Contact.objects.filter(
            account_id=self.instance.account_id
        )
        if can_pick_owner:
            owner = cast(forms.ModelChoiceField, self.fields["owner"])
            owner.queryset = users_visible_to(user=user).order_by("first_name", "username")
        else:
            del self.fields["owner"]
        if self.instance.status != "won":
            del self.fields["delivery_status"]
        else:
            cast(forms.ChoiceField, self.fields["delivery_status"]).choices = DeliveryStatus.choices

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class GateForm(forms.Form):
    """The fields a failed gate asks for, and nothing else; submitted with the move in one transaction."""

    new_contact_name = forms.CharField(
        label=_("…or add a new contact"), required=False, max_length=200, help_text=_("Name of the contact person.")
    )

    FIELD_FACTORIES = {
        GateField.CONTACT: lambda: forms.ModelChoiceField(
            label=GateField.CONTACT.label, queryset=Contact.objects.none(), required=False
        ),
        GateField.NEEDS_SUMMARY: lambda: forms.CharField(
            label=GateField.NEEDS_SUMMARY.label, widget=forms.Textarea(attrs={"rows": 2})
        ),
        GateField.AMOUNT: lambda: forms.DecimalField(
            label=GateField.AMOUNT.label, max_digits=14, decimal_places=2, min_value=Decimal("0.01")
        ),
        GateField.EXPECTED_CLOSE_DATE: lambda: forms.DateField(
            label=GateField.EXPECTED_CLOSE_DATE.label, widget=DateInput()
        ),
        GateField.SIGNED_ON: lambda: forms.DateField(label=GateField.SIGNED_ON.label, widget=DateInput()),
        GateField.CONTRACT_AMOUNT: lambda: forms.DecimalField(
            label=GateField.CONTRACT_AMOUNT.label, max_digits=14, decimal_places=2, min_value=Decimal("0.01")
        ),
    }

    def __init__(self, *args: Any, deal: Deal, gate_fields: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"gate{deal.pk}_%s")  # several cards may show a gate form at once
        super().__init__(*args, **kwargs)
        self.deal = deal
        self.gate_messages: list[str] = []
        self.gate_fields = [f for f in GateField.values if f in gate_fields]
        ordered: dict[str, forms.Field] = {}
        for name in self.gate_fields:
            field = self.FIELD_FACTORIES[GateField(name)]()
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = Contact.objects.filter(account_id=deal.account_id)
            ordered[name] = field
            if name == GateField.CONTACT:
                ordered["new_contact_name"] = self.fields["new_contact_name"]
        self.fields = ordered  # type: ignore[assignment]
        for name in self.gate_fields:
            if self.is_bound:
                continue
            current = getattr(deal, name, None)
            if current not in (None, ""):
                self.initial.setdefault(name, current)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if GateField.CONTACT in self.gate_fields and not data.get("contact") and not data.get("new_contact_name"):
            self.add_error("contact", _("Choose a contact person or add a new one."))
        return data


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices, initial=ActivityKind.CALL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    due_on = forms.DateField(
        label=_("Due date"), required=False, widget=DateInput(), help_text=_("Tasks only: when it is due.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ActivityKind.TASK and not data.get("due_on"):
            self.add_error("due_on", _("A task needs a due date."))
        return data


class LoseForm(forms.Form):
    reason = forms.ModelChoiceField(label=_("Reason"), queryset=lost_reasons_active())
    note = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices)
    expected_stage = forms.ChoiceField(choices=Stage.choices, required=False)


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Company"), max_length=200)
    domain = forms.CharField(label=_("Web domain"), max_length=120, required=False)


class ContactForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    name = forms.CharField(label=_("Name"), max_length=200)
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["account"]).queryset = accounts_visible_to(user=user).order_by("name")
