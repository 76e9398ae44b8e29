from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesladder.org.models import ApiScope


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “trade-show scanner”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiScope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("No scope selected means full access with your rights."),
    )
