"""Formatting for the manager pages: ratios as percentages."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def pct(value: float | None, empty: str = "—") -> str:
    """``0.5`` → ``50 %``; small shares keep one decimal (``0.025`` → ``2.5 %``); ``None`` → ``—``."""
    if value is None or value == "":
        return empty
    percent = float(value) * 100
    digits = 1 if 0 < abs(percent) < 10 and not percent.is_integer() else 0
    return f"{number_format(round(percent, digits), digits)} %"
