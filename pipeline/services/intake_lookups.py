"""Batched look-ups for lead intake: one query per kind of thing, whatever the batch size."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import Account, Contact, Deal, OwnerStrategy, RoundRobinCursor, RoutingRule
from pipeline.services.bulk_copy import bulk_insert, bulk_insert_instances
from pipeline.services.intake_clean import Lead, normalized_company
from salesladder.org.models import Membership, Role, User
from salesladder.org.selectors import managed_team_ids, team_descendant_ids, users_visible_to

Errors = dict[str, list[str]]


def resolve_owners(leads: list[Lead], ctx: Any) -> dict[str, tuple[User, int | None]]:
    """``{lower(username or email): (user, team id)}`` for the named owners the caller may assign."""
    names = {lead.owner.lower() for lead in leads if lead.owner}
    if not names:
        return {}
    qs = users_visible_to(user=ctx.actor).filter(is_active=True)
    token_team = getattr(ctx.token, "team_id", None)
    if token_team:
        qs = qs.filter(memberships__team_id__in=team_descendant_ids(team_ids=[token_team]))
    users = list(
        qs.annotate(username_l=Lower("username"), email_l=Lower("email"))
        .filter(Q(username_l__in=names) | Q(email_l__in=names))
        .distinct()
        .order_by("pk")
    )
    teams = teams_of([u.pk for u in users])
    found: dict[str, tuple[User, int | None]] = {}
    for user in users:
        for name in (user.username.lower(), (user.email or "").lower()):
            if name in names and name not in found:
                found[name] = (user, teams.get(user.pk))
    return found


def teams_of(user_ids: list[int]) -> dict[int, int]:
    """Each user's deal team: the rep membership, else the first team they manage (as ``rep_team``)."""
    teams: dict[int, int] = {}
    rows = Membership.objects.filter(user_id__in=user_ids).order_by("user_id", "-role", "team__name")
    for user_id, team_id in rows.values_list("user_id", "team_id"):
        teams.setdefault(user_id, team_id)
    return teams


@dataclass(slots=True)
class ExistingDeal:
    """What intake compares a re-sent lead with: read as plain values (no model instances), so a replay of
    1,000 leads costs one light query."""

    pk: int
    owner_id: int
    team_id: int
    amount: Decimal | None
    currency: str
    notes: str
    account_id: int
    account_normalized: str
    contact_id: int | None
    contact_email: str | None
    contact_name: str | None
    contact_phone: str | None
    contact_title: str | None


_DEAL_FIELDS = ("id", "owner_id", "team_id", "amount", "currency", "notes", "account_id", "contact_id")


def existing_deals(leads: list[Lead]) -> dict[tuple[str, str], ExistingDeal]:
    """The deals already made from these leads, with their account's matching name and contact details.

    Three index look-ups: the deals by exact (source, external_id) pairs, then their accounts and
    contacts by id (joins would make PostgreSQL hash whole tables on large batches).
    """
    if not leads:
        return {}
    keys = sorted({lead.key for lead in leads})
    deals: dict[tuple[str, str], tuple[Any, ...]] = {}
    if connection.vendor == "postgresql":
        columns = ", ".join(f"d.{connection.ops.quote_name(c)}" for c in _DEAL_FIELDS)
        # One unique-index probe per key (LATERAL ... LIMIT 1 keeps the planner from hashing the whole
        # deal table, which a plain join over 1,000 keys does: its cost would grow with the table).
        sql = (
            f"SELECT k.source, k.external_id, {columns} FROM unnest(%s::text[], %s::text[]) AS k(source, external_id) "
            f"CROSS JOIN LATERAL (SELECT * FROM {Deal._meta.db_table} x WHERE x.source = k.source "
            "AND x.external_id = k.external_id AND x.external_id <> '' LIMIT 1) d"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [[k[0] for k in keys], [k[1] for k in keys]])
            for row in cursor.fetchall():
                deals[(row[0], row[1])] = row[2:]
    else:
        wanted = set(keys)
        rows = (
            Deal.objects.filter(source__in={k[0] for k in keys}, external_id__in={k[1] for k in keys})
            .exclude(external_id="")
            .order_by()
            .values_list("source", "external_id", *_DEAL_FIELDS)
        )
        deals = {(r[0], r[1]): r[2:] for r in rows if (r[0], r[1]) in wanted}
    if not deals:
        return {}
    account_names = dict(
        Account.objects.filter(pk__in={d[6] for d in deals.values()}).order_by().values_list("pk", "normalized_name")
    )
    contact_ids = {d[7] for d in deals.values() if d[7]}
    contacts = (
        {
            row[0]: row[1:]
            for row in Contact.objects.filter(pk__in=contact_ids)
            .order_by()
            .values_list("pk", "email", "name", "phone", "title")
        }
        if contact_ids
        else {}
    )
    result = {}
    for key, (pk, owner_id, team_id, amount, currency, notes, account_id, contact_id) in deals.items():
        email, name, phone, title = contacts.get(contact_id, (None, None, None, None))
        result[key] = ExistingDeal(
            pk,
            owner_id,
            team_id,
            amount,
            currency,
            notes,
            account_id,
            account_names.get(account_id, ""),
            contact_id,
            email,
            name,
            phone,
            title,
        )
    return result


def out_of_reach(leads: list[Lead], existing: dict[tuple[str, str], ExistingDeal], ctx: Any) -> set[int]:
    """Indexes of the leads whose existing deal the caller may not update: a lead updates a deal only if the
    token's user sees it (their own, their managed teams) or it sits in a team this caller's leads are
    routed to (the token's team, a routing rule's team for the source; with sub-teams). Otherwise any
    token could rewrite, or move to itself, another team's deal by re-sending its (source, external id)."""
    actor = ctx.actor
    updates = [lead for lead in leads if lead.key in existing]
    if not updates or actor.is_superuser:
        return set()
    rule_teams = dict(
        RoutingRule.objects.filter(source__in={lead.source for lead in updates}, is_active=True).values_list(
            "source", "team_id"
        )
    )
    default = ctx.default_team.pk if ctx.default_team is not None else None
    roots = {t for t in [default, *rule_teams.values()] if t is not None}
    below = {root: team_descendant_ids(team_ids=[root]) for root in roots}  # a few teams: one query each
    managed = managed_team_ids(user=actor)
    refused = set()
    for lead in updates:
        deal = existing[lead.key]
        homes = [t for t in (default, rule_teams.get(lead.source)) if t is not None]
        if deal.owner_id == actor.pk or deal.team_id in managed or any(deal.team_id in below[t] for t in homes):
            continue
        refused.add(lead.index)
    return refused


def assign_owners(
    leads: list[Lead],
    owners: dict[str, tuple[User, int | None]],
    ctx: Any,
    fail: Callable[[Lead, Errors], None],
    reserved: dict[int, tuple[int, int]] | None = None,
) -> dict[int, tuple[int, int]]:
    """``{lead index: (owner id, team id)}``; round-robin cursors are advanced under a row lock.

    ``reserved`` holds round-robin owners already drawn for some leads (``reserve_rotation``): those leads
    take them and do not touch the cursors again."""
    assignment: dict[int, tuple[int, int]] = {}
    if reserved:
        for lead in leads:
            if lead.index in reserved:
                assignment[lead.index] = reserved[lead.index]
        leads = [lead for lead in leads if lead.index not in assignment]
    if not leads:
        return assignment
    rules = {
        r.source: r for r in RoutingRule.objects.filter(source__in={lead.source for lead in leads}, is_active=True)
    }
    rotation: dict[int, list[Lead]] = defaultdict(list)
    for lead in leads:
        if lead.owner:
            user, team_id = owners[lead.owner.lower()]
            if team_id is None:
                fail(lead, {"owner": [_("%(user)s is not a member of any team.") % {"user": user}]})
            else:
                assignment[lead.index] = (user.pk, team_id)
            continue
        rule = rules.get(lead.source)
        if rule and rule.strategy == OwnerStrategy.FIXED and rule.owner_id is not None:
            assignment[lead.index] = (rule.owner_id, rule.team_id)
        elif rule:
            rotation[rule.team_id].append(lead)
        elif ctx.default_team is not None:
            rotation[ctx.default_team.pk].append(lead)
        else:
            fail(lead, {"owner": [_("No owner given and no team to assign the lead to; name an owner.")]})
    if not rotation:
        return assignment
    members = rotation_members(list(rotation))
    RoundRobinCursor.objects.bulk_create([RoundRobinCursor(team_id=t) for t in rotation], ignore_conflicts=True)
    cursors = RoundRobinCursor.objects.select_for_update().filter(team_id__in=list(rotation)).order_by("team_id")
    for cursor in cursors:
        reps = members.get(cursor.team_id)
        team_leads = rotation[cursor.team_id]
        if not reps:
            for lead in team_leads:
                fail(lead, {"owner": [_("The team has no active reps to assign the lead to; name an owner.")]})
            continue
        for offset, lead in enumerate(team_leads):
            user_id, team_id = reps[(cursor.position + offset) % len(reps)]
            assignment[lead.index] = (user_id, team_id)
        cursor.position += len(team_leads)
        RoundRobinCursor.objects.filter(pk=cursor.pk).update(position=cursor.position)
    return assignment


def rotation_members(team_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """The active reps each team rotates over, ``(user id, their team id)`` sorted by user: the team's own
    reps, or when it has none (a parent team) the reps of its sub-teams."""
    direct: dict[int, list[tuple[int, int]]] = defaultdict(list)
    reps = Membership.objects.filter(team_id__in=team_ids, role=Role.REP, user__is_active=True).order_by("user_id")
    for user_id, team_id in reps.values_list("user_id", "team_id"):
        direct[team_id].append((user_id, team_id))
    for team_id in team_ids:
        if not direct.get(team_id):
            below = team_descendant_ids(team_ids=[team_id])
            sub = Membership.objects.filter(team_id__in=below, role=Role.REP, user__is_active=True).order_by("user_id")
            direct[team_id] = list(sub.values_list("user_id", "team_id"))
    return direct


def resolve_accounts(needs: list[tuple[Lead, int]]) -> dict[int, Account]:
    """``{lead index: account}``: by normalised company name, else corporate e-mail domain, else a new account
    (one per distinct company in the batch, owned by the first lead's owner)."""
    if not needs:
        return {}
    names = {lead.index: lead.company_key for lead, _o in needs if lead.company}
    domains = {lead.index: lead.company_domain for lead, _o in needs if lead.company_domain}
    by_name: dict[str, Account] = {}
    by_domain: dict[str, Account] = {}
    wanted_names = {n for n in names.values() if n}
    wanted_domains = set(domains.values())
    _find_accounts(wanted_names, wanted_domains, by_name, by_domain)
    if connection.vendor == "postgresql":
        # Batches run in parallel: two of them may both be about to create the same company. Each takes a
        # transaction lock per company name / domain it would create, then looks again; the second one
        # waits for the first to commit and finds its account instead of making a duplicate.
        missing_names: set[str] = set()
        missing_domains: set[str] = set()
        for lead, _o in needs:
            name, domain = names.get(lead.index, ""), domains.get(lead.index, "")
            if not ((name and name in by_name) or (domain and domain in by_domain)):
                if name:
                    missing_names.add(name)
                if domain:
                    missing_domains.add(domain)
        if missing_names or missing_domains:
            _lock_keys([f"n:{n}" for n in missing_names] + [f"d:{d}" for d in missing_domains])
            _find_accounts(missing_names, missing_domains, by_name, by_domain)
    result: dict[int, Account] = {}
    to_create: dict[str, Account] = {}
    for lead, owner_id in needs:
        name = names.get(lead.index, "")
        domain = domains.get(lead.index, "")
        account: Account | None = (name and by_name.get(name)) or (domain and by_domain.get(domain)) or None
        if account is None:
            label = lead.company or domain or lead.contact_name or lead.email
            new_key = f"n:{name}" if name else (f"d:{domain}" if domain else f"l:{label.lower()}")
            account = to_create.get(new_key)
            if account is None:
                account = Account(
                    name=label[:200],
                    normalized_name=name or normalized_company(label),
                    domain=domain,
                    owner_id=owner_id,
                )
                account._intake_new = True  # type: ignore[attr-defined]
                to_create[new_key] = account
                if name:
                    by_name[name] = account
                if domain:
                    by_domain.setdefault(domain, account)
        result[lead.index] = account
    bulk_insert(list(to_create.values()))
    return result


def _find_accounts(
    names: set[str], domains: set[str], by_name: dict[str, Account], by_domain: dict[str, Account]
) -> None:
    """Add the accounts with these normalised names or domains to the maps (the oldest one wins)."""
    # A UNION of two index look-ups: with ``name IN (...) OR domain IN (...)`` PostgreSQL scans the whole
    # account table, comparing every row with every name (30 ms per batch at 90,000 accounts, growing).
    if not names and not domains:
        return
    if connection.vendor == "postgresql":
        found: Any = _accounts_by_arrays(names, domains)
    else:
        parts = []
        if names:
            parts.append(Account.objects.filter(normalized_name__in=names).order_by())
        if domains:
            parts.append(Account.objects.filter(domain__in=domains).order_by())
        found = (parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]).order_by("pk")
    for known in found:
        by_name.setdefault(known.normalized_name, known)
        if known.domain:
            by_domain.setdefault(known.domain, known)


def _accounts_by_arrays(names: set[str], domains: set[str]) -> Any:
    """The same UNION on PostgreSQL with each list sent as one array parameter (``= ANY(%s)``): binding
    ``IN (%s, %s, ...)`` with ~330 names and ~330 domains took a few milliseconds of Python per look-up."""
    q = connection.ops.quote_name
    meta = Account._meta
    columns = ", ".join(q(str(f.column)) for f in meta.concrete_fields)
    table = q(meta.db_table)
    parts, params = [], []
    for field, values in (("normalized_name", names), ("domain", domains)):
        if values:
            parts.append(f"SELECT {columns} FROM {table} WHERE {q(field)} = ANY(%s::text[])")
            params.append(sorted(values))
    sql = " UNION ".join(parts) + f" ORDER BY {q(str(cast(Field, meta.pk).column))}"
    return Account.objects.raw(sql, params)


_ACCOUNT_LOCK_CLASS = 0x5A1E  # the first key of PostgreSQL advisory locks taken for account creation


def _lock_keys(keys: list[str]) -> None:
    """Transaction-level advisory locks on ``keys`` (hashed to 32 bits; a collision only makes a batch
    wait), taken in one sorted statement so that two batches can never hold them crosswise."""
    hashed = sorted(
        {int.from_bytes(hashlib.blake2b(k.encode(), digest_size=4).digest(), "big", signed=True) for k in keys}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) AS k",
            [_ACCOUNT_LOCK_CLASS, hashed],
        )


def contact_key(account: Account, lead: Lead) -> tuple[int, str]:
    return (account.pk, f"e:{lead.email.lower()}" if lead.email else f"n:{lead.contact_name.lower()}")


def resolve_contacts(needs: list[tuple[Lead, Account]]) -> dict[int, Contact]:
    """``{lead index: contact}``: by e-mail within the account (or by name when no e-mail), else created."""
    if not needs:
        return {}
    # Accounts created by this batch have no contacts yet: only the others are looked up, and only with the
    # e-mails and names of their own leads (a batch of new companies sends no list of 1,000 e-mails).
    known_needs = [(lead, account) for lead, account in needs if not getattr(account, "_intake_new", False)]
    account_ids = {account.pk for _l, account in known_needs}
    emails = {lead.email.lower() for lead, _a in known_needs if lead.email}
    names = {lead.contact_name.lower() for lead, _a in known_needs if not lead.email}
    found: dict[tuple[int, str], Contact] = {}
    qs = (
        Contact.objects.filter(account_id__in=account_ids)
        .annotate(email_l=Lower("email"), name_l=Lower("name"))
        .filter(Q(email_l__in=emails) | Q(name_l__in=names))
        .order_by("pk")
    )
    for known in qs if account_ids else ():
        if known.email:
            found.setdefault((known.account_id, f"e:{known.email.lower()}"), known)
        found.setdefault((known.account_id, f"n:{known.name.lower()}"), known)
    result: dict[int, Contact] = {}
    # New contacts go in as plain rows (one per distinct key; the leads that share one wait for its id):
    # building 1,000 model instances by keyword took longer than writing them.
    new_rows: dict[tuple[int, str], dict[str, Any]] = {}
    waiting: list[tuple[int, tuple[int, str]]] = []
    now = timezone.now()
    for lead, account in needs:
        key = contact_key(account, lead)
        contact = found.get(key)
        if contact is not None:
            result[lead.index] = contact
            continue
        if key not in new_rows:
            new_rows[key] = {
                "account_id": account.pk,
                "name": (lead.contact_name or lead.email)[:200],
                "email": lead.email,
                "phone": lead.phone,
                "title": lead.title,
                "created_at": now,
                "updated_at": now,
            }
        waiting.append((lead.index, key))
    if new_rows:
        created = dict(zip(new_rows, bulk_insert_instances(Contact, list(new_rows.values())), strict=True))
        for index, key in waiting:
            result[index] = created[key]
    return result
