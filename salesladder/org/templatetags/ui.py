"""Small presentation helpers shared by every page: localised money and day counts, confirmation panels.

For query-string edits (pagination, sorting) use Django's built-in ``{% querystring %}`` tag."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
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


@register.simple_block_tag(takes_context=True)
def confirm_dialog(
    context: template.Context,
    content: SafeString,
    testid: str,
    title: str,
    yes: str,
    cancel: str,
    action: str = "",
    css: str = "card",
) -> SafeString:
    """The "are you sure?" panel a destructive or far-reaching POST answers with before doing anything.

    ``content`` (the tag's body) sits inside the form: the explanation and any hidden fields the
    confirmed POST must carry again. The panel adds ``confirm=yes``, the CSRF token, the
    confirming button ``yes`` and a Cancel link to ``cancel``; ``action`` empty posts to the page itself::

        {% confirm_dialog "confirm-close" title=ask yes=yes_label cancel=back action=url %}
          <p>…</p><input type="hidden" name="…" value="…">
        {% endconfirm_dialog %}
    """
    action_attr = format_html(' action="{}"', action) if action else ""
    return format_html(
        '<div class="{css} form-errors" role="alertdialog" aria-labelledby="{id}-title" data-testid="{id}">'
        '<p id="{id}-title"><strong>{title}</strong></p>'
        '<form method="post"{action}>'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        '<input type="hidden" name="confirm" value="yes">'
        "{content}"
        '<div class="form-actions"><button type="submit" class="btn btn-primary">{yes}</button>'
        '<a class="btn" href="{cancel}">{cancel_label}</a></div>'
        "</form></div>",
        css=css,
        id=testid,
        title=title,
        action=action_attr,
        csrf=str(context.get("csrf_token", "")),
        content=content,
        yes=yes,
        cancel=cancel,
        cancel_label=gettext("Cancel"),
    )
