"""Accounts and contacts, and the company-name key leads are matched to accounts by."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from pipeline.models import Account, Contact
from pipeline.selectors import accounts_visible_to
from salesladder.errors import DomainError
from salesladder.org.models import User

_LEGAL_WORDS = frozenset(
    {"inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "gmbh", "kg", "co", "corp", "corporation", "company"}
    | {"plc", "sa", "sarl", "srl", "ag", "bv", "nv", "pty"}
)
_CN_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")  # longest first


def normalize_company_name(name: str) -> str:
    """A matching key for company names: case, width, punctuation and trailing legal forms do not matter.

    Legal forms are dropped from the end only, as many as there are ("Acme Co., Ltd." → ``acme``,
    "ABC集团有限公司" → ``abc``), never from the middle or the start ("Corporation Bank" stays itself, not
    "Bank Corp."), and never down to nothing ("The Company" keeps its last word)."""
    text = unicodedata.normalize("NFKC", name).lower()
    words = re.sub(r"[^\w]+", " ", text).split()
    while words:
        last = words[-1]
        if (last in _LEGAL_WORDS or last in _CN_SUFFIXES) and len(words) > 1:
            words.pop()
            continue
        cut = next((s for s in _CN_SUFFIXES if last.endswith(s) and len(last) > len(s)), None)
        if cut is None:
            break
        words[-1] = last[: -len(cut)]
    return " ".join(words)


def account_create(*, name: str, owner: User, domain: str = "") -> Account:
    name = name.strip()
    if not name:
        raise DomainError({"name": [_("This field may not be blank.")]})
    return Account.objects.create(
        name=name, normalized_name=normalize_company_name(name), domain=domain.strip().lower(), owner=owner
    )


def account_for_company(*, name: str, actor: User) -> Account:
    """The account ``actor`` can see whose normalised name matches ``name`` (the oldest), else a new one they own."""
    existing = (
        accounts_visible_to(user=actor).filter(normalized_name=normalize_company_name(name)).order_by("pk").first()
    )
    return existing or account_create(name=name, owner=actor)


def account_update(*, account: Account, name: str | None = None, domain: str | None = None) -> Account:
    if name is not None:
        if not name.strip():
            raise DomainError({"name": [_("This field may not be blank.")]})
        account.name = name.strip()
        account.normalized_name = normalize_company_name(account.name)
    if domain is not None:
        account.domain = domain.strip().lower()
    account.save()
    return account


def contact_create(*, account: Account, name: str, email: str = "", phone: str = "", title: str = "") -> Contact:
    if not name.strip():
        raise DomainError({"name": [_("This field may not be blank.")]})
    return Contact.objects.create(account=account, name=name.strip(), email=email.strip(), phone=phone, title=title)


def contact_update(
    *,
    contact: Contact,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    title: str | None = None,
    account: Account | None = None,
) -> Contact:
    """Edit a contact; ``None`` leaves a field alone. Moving it to another account keeps its deals' link."""
    if name is not None:
        if not name.strip():
            raise DomainError({"name": [_("This field may not be blank.")]})
        contact.name = name.strip()
    if email is not None:
        contact.email = email.strip()
    if phone is not None:
        contact.phone = phone
    if title is not None:
        contact.title = title
    if account is not None and account.pk != contact.account_id:
        if contact.deals.exclude(account=account).exists():
            raise DomainError({"account": [_("The contact is on deals of its current account.")]})
        contact.account = account
    contact.save()
    return contact
