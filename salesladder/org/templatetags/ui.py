"""Small presentation helpers shared by every page: localised money and day counts.

For query-string edits (pagination, sorting) use Django's built-in ``{% querystring %}`` tag."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext, to_locale

register = template.Library()


def _babel_locale() -> str:
    return to_locale(get_language() or "en")


@register.filter
def money(value: object, currency: str = "CNY") -> str:
    """``12000`` → ``CN¥12,000`` (en) / ``¥12,000`` (zh-hans); empty for no amount. Whole units, grouped."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return ""
    fmt = "¤#,##0" if amount == amount.to_integral_value() else "¤#,##0.00"
    try:
        return format_currency(amount, currency or "CNY", format=fmt, locale=_babel_locale(), currency_digits=False)
    except (ValueError, LookupError):
        return f"{currency} {amount:,.2f}"


@register.filter
def days_since(value: datetime | None) -> str:
    """``3 days`` / ``3 天``: whole days since ``value`` (``today`` style is left to the caller)."""
    if value is None:
        return ""
    days = max((timezone.now() - value).days, 0)
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


@register.filter
def duration_short(value: timedelta | None) -> str:
    """``2 days 3 h`` / ``2 天 3 小时``; under an hour reads ``less than an hour``."""
    if value is None:
        return ""
    hours = int(value.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if days:
        text = ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
        return f"{text} {ngettext('%(count)d h', '%(count)d h', hours) % {'count': hours}}" if hours else text
    if hours:
        return ngettext("%(count)d h", "%(count)d h", hours) % {"count": hours}
    return gettext("less than an hour")
