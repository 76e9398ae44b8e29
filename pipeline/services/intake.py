"""Lead intake (SPEC §7): create or update deals from external leads, in bulk, without duplicates.

How a batch is processed (query count does not grow with the batch):

1. every item is validated in memory (``intake_clean``); bad items become ``error`` intake records;
2. one query each fetches the routing rules, the named owners (inside the caller's scope), the
   deals that already exist for the batch's ``(source, external_id)`` pairs, the matching accounts
   (by normalised company name, then by corporate e-mail domain) and the matching contacts;
3. new deals are written with ``deals_bulk_create`` (the same rules as ``deal_create`` at ``prep``,
   one ``create`` transition each), changed deals go through ``deal_update``; unchanged deals are
   not written at all, so a replay is read-only;
4. called outside a transaction (the API, the import task), steps 2-3 up to the accounts run *before* the
   batch's transaction: the round-robin turns and the new accounts (under an advisory lock per company name
   and domain) are committed in short transactions of their own, so their locks never make parallel batches
   of one team wait for each other's write and commit;
5. the whole batch runs in one savepoint. If a concurrent request inserted one of the same leads
   first, the unique ``(source, external_id)`` constraint raises ``IntegrityError``: the savepoint is
   rolled back and the batch re-runs item by item, each in its own savepoint, where the
   lead is re-fetched and becomes an update. Racing identical posts therefore make one deal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import (
    Account,
    Channel,
    Contact,
    Deal,
    IntakeRecord,
    IntakeStatus,
    WebhookEvent,
)
from pipeline.services import webhooks
from pipeline.services.deals import deal_update
from pipeline.services.deals_bulk import DealDraft, deal_bulk_errors, deals_bulk_create
from pipeline.services.intake_clean import Lead, clean_lead, default_currency, payload_of
from pipeline.services.intake_lookups import (
    ExistingDeal,
    assign_owners,
    existing_deals,
    out_of_reach,
    resolve_accounts,
    resolve_contacts,
    resolve_owners,
)
from pipeline.services.intake_records import write_records
from salesladder.errors import DomainError
from salesladder.org.models import User
from salesladder.org.selectors import rep_team

MAX_BATCH = 1000

Errors = dict[str, list[str]]


@dataclass
class ItemResult:
    index: int
    status: str
    deal: int | None = None
    errors: Errors = field(default_factory=dict)
    team_id: int | None = None  # for the intake record, not part of the answer

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "deal": self.deal, "errors": self.errors}


@dataclass
class IntakeResult:
    batch_id: uuid.UUID
    results: list[ItemResult]

    @property
    def totals(self) -> dict[str, int]:
        totals = {status: 0 for status in IntakeStatus.values}
        for result in self.results:
            totals[result.status] += 1
        totals["received"] = len(self.results)
        return totals

    @property
    def created_any(self) -> bool:
        return any(r.status == IntakeStatus.CREATED for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"results": [r.as_dict() for r in self.results], "totals": self.totals}


@dataclass
class _Context:
    actor: User
    token: Any
    channel: str
    at: datetime
    # The owners drawn ahead for the new leads (see ``lead_intake``), kept if the batch re-runs item by item.
    reserved: dict[int, tuple[int, int]] = field(default_factory=dict)
    _default_team: Any = None
    _default_team_known: bool = False

    @property
    def default_team(self) -> Any:
        """The team round-robin falls back to: the token's team, else the caller's own team."""
        if not self._default_team_known:
            team = getattr(self.token, "team", None)
            self._default_team = team if team is not None else rep_team(user=self.actor)
            self._default_team_known = True
        return self._default_team


# --- public entry points ---------------------------------------------------------------------


def lead_intake(
    *,
    items: Sequence[Any],
    actor: User,
    token: Any = None,
    source_default: str | None = None,
    channel: str = Channel.INTAKE,
    index_offset: int = 0,
) -> IntakeResult:
    """Create or update one deal per lead; see the module docstring. Never raises for a bad item."""
    if len(items) > MAX_BATCH:
        raise DomainError({"leads": [_("At most %(max)d leads per request.") % {"max": MAX_BATCH}]})
    ctx = _Context(actor=actor, token=token, channel=channel, at=timezone.now())
    batch_id = uuid.uuid4()
    results: dict[int, ItemResult] = {}
    leads: list[Lead] = []
    raw_by_index: dict[int, Any] = {}
    for i, raw in enumerate(items):
        index = i + index_offset
        raw_by_index[index] = raw
        lead, errors = clean_lead(raw, index=index, source_default=source_default)
        if lead is None:
            results[index] = ItemResult(index=index, status=IntakeStatus.ERROR, errors=errors)
        else:
            leads.append(lead)
    plan = None
    if leads and not transaction.get_connection().in_atomic_block:
        # Outside a caller's transaction the batch is planned first, and the round-robin turns and the new
        # accounts are taken in short transactions of their own: their locks (the team's cursor, the company
        # names) are then not held while the batch is written and committed, so parallel batches of a team
        # do not queue behind each other. A batch that fails afterwards leaves its accounts (companies
        # that did send leads) and skips its turns.
        plan = _plan(_split(leads)[0], ctx)
        ctx.reserved = plan.assignment
        with transaction.atomic():
            plan.accounts = resolve_accounts([(lead, plan.assignment[lead.index][0]) for lead in plan.new])
    with transaction.atomic():
        results.update(_run(leads, ctx, plan))
        write_records(results=results, raw_by_index=raw_by_index, ctx=ctx, batch_id=batch_id)
    return IntakeResult(batch_id=batch_id, results=[results[k] for k in sorted(results)])


@transaction.atomic
def intake_record_retry(*, record: IntakeRecord, fixes: dict[str, Any], actor: User, token: Any = None) -> IntakeRecord:
    """Re-run a quarantined lead with corrected fields; the record takes the new outcome."""
    record = IntakeRecord.objects.select_for_update().get(pk=record.pk)
    if record.status != IntakeStatus.ERROR:
        raise DomainError({"status": [_("Only quarantined (error) records can be re-run.")]})
    if not isinstance(fixes, dict):
        raise DomainError({"non_field_errors": [_("Send the corrected fields as a JSON object.")]})
    base = record.payload if isinstance(record.payload, dict) and "value" not in record.payload else {}
    payload = {**base, **fixes}
    ctx = _Context(actor=actor, token=token, channel=record.channel or Channel.INTAKE, at=timezone.now())
    lead, errors = clean_lead(payload, index=record.index)
    if lead is None:
        result = ItemResult(index=record.index, status=IntakeStatus.ERROR, errors=errors)
    else:
        result = _run([lead], ctx)[record.index]
    record.payload = payload = payload_of(payload)  # as sent, minus what no text column can hold (NUL)
    record.status = result.status
    record.errors = result.errors
    record.deal_id = result.deal
    record.team_id = result.team_id or record.team_id
    record.source = str(payload.get("source") or "")[:60]
    record.external_id = str(payload.get("external_id") or "")[:120]
    record.attempts += 1
    record.processed_at = ctx.at
    record.save()
    return record


def lead_intake_csv(
    *,
    file: Any,
    actor: User,
    mapping: dict[str, str] | None = None,
    token: Any = None,
    source_default: str | None = None,
    progress_callback: Callable[[int, int], None] | None = None,
    chunk_size: int = MAX_BATCH,
) -> IntakeResult:
    """Import a CSV file (see ``intake_csv``) through the same service, chunk by chunk."""
    from pipeline.services.intake_csv import read_lead_rows

    rows = read_lead_rows(file=file, mapping=mapping)
    total = len(rows)
    results: list[ItemResult] = []
    batch_id = uuid.uuid4()
    for start in range(0, total, chunk_size):
        chunk = lead_intake(
            items=rows[start : start + chunk_size],
            actor=actor,
            token=token,
            source_default=source_default,
            channel=Channel.IMPORT,
            index_offset=start,
        )
        results.extend(chunk.results)
        if progress_callback is not None:
            progress_callback(min(start + chunk_size, total), total)
    if progress_callback is not None and total == 0:
        progress_callback(0, 0)
    return IntakeResult(batch_id=batch_id, results=results)


# --- the batch -------------------------------------------------------------------------------


def _split(leads: list[Lead]) -> tuple[list[Lead], list[Lead]]:
    """The first occurrence of each key (sorted by key), and the repeats (in order)."""
    seen: set[tuple[str, str]] = set()
    firsts: list[Lead] = []
    repeats: list[Lead] = []
    for lead in leads:
        (repeats if lead.key in seen else firsts).append(lead)
        seen.add(lead.key)
    firsts.sort(key=lambda lead: lead.key)  # one lock order for every request: no deadlocks between batches
    return firsts, repeats


def _run(leads: list[Lead], ctx: _Context, plan: _Plan | None = None) -> dict[int, ItemResult]:
    """Process valid leads: the first occurrence of each key in bulk, repeats one by one after it."""
    firsts, repeats = _split(leads)
    try:
        with transaction.atomic():
            results = _process(firsts, ctx, plan)
    except (IntegrityError, OperationalError) as exc:
        if isinstance(exc, OperationalError) and not _is_race(exc):
            raise
        results = {}
        for lead in firsts:
            results.update(_process_one(lead, ctx))
    for lead in repeats:
        results.update(_process_one(lead, ctx))
    return results


def _is_race(exc: OperationalError) -> bool:
    """A deadlock or serialization failure between concurrent batches: worth re-running item by item."""
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


def _process_one(lead: Lead, ctx: _Context) -> dict[int, ItemResult]:
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _process([lead], ctx)
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not _is_race(exc):
                raise
            if attempt == 2:
                break
    return {
        lead.index: ItemResult(
            index=lead.index,
            status=IntakeStatus.ERROR,
            errors={"non_field_errors": [_("A concurrent request changed this lead; send it again.")]},
        )
    }


@dataclass
class _Plan:
    """What a batch will do, decided before anything but the round-robin cursors is written."""

    results: dict[int, ItemResult]  # the leads refused so far
    owners: dict[str, tuple[User, int | None]]
    existing: dict[tuple[str, str], ExistingDeal]
    assignment: dict[int, tuple[int, int]]
    new: list[Lead]
    drafts: list[DealDraft]
    updates: list[Lead]
    accounts: dict[int, Account] | None = None  # of the new leads, when found or created ahead


def _plan(leads: list[Lead], ctx: _Context) -> _Plan:
    """Owners, existing deals, owners of the new deals and the deal rules: reads only, except the round-robin
    cursors, advanced in their own (short, when outside a transaction) atomic block."""
    results: dict[int, ItemResult] = {}

    def fail(lead: Lead, errors: Errors) -> None:
        results[lead.index] = ItemResult(index=lead.index, status=IntakeStatus.ERROR, errors=errors)

    owners = resolve_owners(leads, ctx)
    for lead in leads:
        if lead.owner and lead.owner.lower() not in owners:
            fail(lead, {"owner": [_("No user %(owner)s in your scope.") % {"owner": lead.owner}]})
    leads = [lead for lead in leads if lead.index not in results]

    existing = existing_deals(leads)
    for index in out_of_reach(leads, existing, ctx):
        # no deal id in the answer: the deal is another team's (its key is taken, which the error says)
        message = _("A deal with this source and external id belongs to a team outside your reach; not changed.")
        fail(next(lead for lead in leads if lead.index == index), {"external_id": [message]})
    leads = [lead for lead in leads if lead.index not in results]
    for lead in leads:
        if lead.key not in existing and not ({"company", "contact_name", "email"} & lead.given):
            # a new deal needs something to be called by; an update may send just the fields that changed
            fail(lead, {"company": [_("Give at least a company, a contact name or an email.")]})
    leads = [lead for lead in leads if lead.index not in results]
    new = [lead for lead in leads if lead.key not in existing]
    updates = [lead for lead in leads if lead.key in existing]

    # Owners of new deals: explicit, else routing rule, else round-robin in the token's team.
    with transaction.atomic():
        assignment = assign_owners(new, owners, ctx, fail, reserved=ctx.reserved)
    new = [lead for lead in new if lead.index in assignment]

    # Check the deal rules before writing accounts and contacts, so a refused lead leaves nothing behind.
    drafts = [
        DealDraft(
            title=lead.deal_title,
            account_id=None,
            owner_id=assignment[lead.index][0],
            team_id=assignment[lead.index][1],
            amount=lead.amount,
            currency=lead.currency or default_currency(),
            notes=lead.notes,
            source=lead.source,
            external_id=lead.external_id,
            contact_id=-1 if (lead.email or lead.contact_name) else None,
        )
        for lead in new
    ]
    for i, errors in deal_bulk_errors(drafts).items():
        fail(new[i], errors)
    keep = [i for i, lead in enumerate(new) if lead.index not in results]
    return _Plan(
        results=results,
        owners=owners,
        existing=existing,
        assignment=assignment,
        new=[new[i] for i in keep],
        drafts=[drafts[i] for i in keep],
        updates=updates,
    )


def _process(leads: list[Lead], ctx: _Context, plan: _Plan | None = None) -> dict[int, ItemResult]:
    """Write one batch (``plan``: made ahead by ``lead_intake``, else here)."""
    if not leads:
        return {}
    if plan is None:
        plan = _plan(leads, ctx)
    results = dict(plan.results)
    owners, existing, assignment = plan.owners, plan.existing, plan.assignment
    new, drafts, updates = plan.new, plan.drafts, plan.updates

    def fail(lead: Lead, errors: Errors) -> None:
        results[lead.index] = ItemResult(index=lead.index, status=IntakeStatus.ERROR, errors=errors)

    # Accounts: for new deals, and for existing ones whose company changed.
    account_changes = [
        lead for lead in updates if lead.company and lead.company_key != existing[lead.key].account_normalized
    ]
    if plan.accounts is None:
        accounts = resolve_accounts(
            [(lead, assignment[lead.index][0]) for lead in new]
            + [(lead, existing[lead.key].owner_id) for lead in account_changes]
        )
    else:
        accounts = {
            **plan.accounts,
            **resolve_accounts([(lead, existing[lead.key].owner_id) for lead in account_changes]),
        }
    for lead, draft in zip(new, drafts, strict=True):
        draft.account_id = accounts[lead.index].pk

    # Contacts, within the (new or current) account.
    contact_needs: list[tuple[Lead, Account]] = []
    for lead in new:
        if lead.email or lead.contact_name:
            contact_needs.append((lead, accounts[lead.index]))
    for lead in updates:
        current = existing[lead.key]
        if (lead.email or lead.contact_name) and (lead.index in accounts or not _same_contact(current, lead)):
            contact_needs.append((lead, accounts.get(lead.index) or Account(pk=current.account_id)))
    contacts = resolve_contacts(contact_needs)
    for lead, draft in zip(new, drafts, strict=True):
        contact = contacts.get(lead.index)
        draft.contact_id = contact.pk if contact is not None else None

    # The drafts passed deal_bulk_errors in _plan; since then only their account and contact ids were filled
    # in (a contact where the check assumed one), which no rule reads differently.
    created = deals_bulk_create(drafts=drafts, actor=ctx.actor, channel=ctx.channel, at=ctx.at, checked=True)
    for lead, deal_id, draft in zip(new, created, drafts, strict=True):
        results[lead.index] = ItemResult(
            index=lead.index, status=IntakeStatus.CREATED, deal=deal_id, team_id=draft.team_id
        )

    emit_ids = list(created)
    touched_contacts: list[Contact] = []
    for lead in updates:
        current = existing[lead.key]
        changes = _deal_changes(lead, current, owners, accounts, contacts)
        contact_changed = _refresh_contact(lead, current, changes, touched_contacts)
        team_id = current.team_id
        if changes:
            try:
                with transaction.atomic():
                    team_id = deal_update(deal=Deal(pk=current.pk), actor=ctx.actor, **changes).team_id
            except DomainError as exc:
                fail(lead, exc.errors)
                continue
        status = IntakeStatus.UPDATED if (changes or contact_changed) else IntakeStatus.UNCHANGED
        results[lead.index] = ItemResult(index=lead.index, status=status, deal=current.pk, team_id=team_id)
        if status == IntakeStatus.UPDATED:
            emit_ids.append(current.pk)
    if touched_contacts:
        Contact.objects.bulk_update(touched_contacts, ["name", "phone", "title", "updated_at"])
    if emit_ids and WebhookEvent.LEAD_RECEIVED in webhooks.active_events():
        webhooks.emit_many(WebhookEvent.LEAD_RECEIVED, Deal.objects.filter(pk__in=emit_ids).order_by("pk"))
    return results


# --- updates ---------------------------------------------------------------------------------


def _same_contact(current: ExistingDeal, lead: Lead) -> bool:
    """Whether the lead speaks of the deal's contact: the same e-mail, else the same name; a lead naming
    nobody (an update sending only a phone or a title) speaks of the deal's contact."""
    if current.contact_id is None:
        return False
    if lead.email:
        return (current.contact_email or "").lower() == lead.email.lower()
    if not lead.contact_name:
        return True
    return (current.contact_name or "").lower() == lead.contact_name.lower()


def _deal_changes(
    lead: Lead,
    current: ExistingDeal,
    owners: dict[str, tuple[User, int | None]],
    accounts: dict[int, Account],
    contacts: dict[int, Contact],
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "amount" in lead.given and current.amount != lead.amount:
        changes["amount"] = lead.amount
    if "currency" in lead.given and current.currency != lead.currency:
        changes["currency"] = lead.currency
    if "notes" in lead.given and current.notes != lead.notes:
        changes["notes"] = lead.notes
    if lead.owner:
        owner = owners[lead.owner.lower()][0]
        if owner.pk != current.owner_id:
            changes["owner"] = owner
    if lead.index in accounts and accounts[lead.index].pk != current.account_id:
        changes["account"] = accounts[lead.index]
        if lead.index not in contacts:
            changes["contact"] = None
    if lead.index in contacts and contacts[lead.index].pk != current.contact_id:
        changes["contact"] = contacts[lead.index]
    return changes


def _refresh_contact(lead: Lead, current: ExistingDeal, changes: dict[str, Any], out: list[Contact]) -> bool:
    """Update the deal's existing contact with the lead's name, phone and title when they differ."""
    if "contact" in changes or not _same_contact(current, lead):
        return False
    values = {
        "name": current.contact_name or "",
        "phone": current.contact_phone or "",
        "title": current.contact_title or "",
    }
    changed = False
    for attr, value in (("name", lead.contact_name), ("phone", lead.phone), ("title", lead.title)):
        if value and values[attr] != value:
            values[attr] = value
            changed = True
    if changed:  # an instance only for a contact to write: a replay compares plain values
        out.append(Contact(pk=current.contact_id, updated_at=timezone.now(), **values))
    return changed
