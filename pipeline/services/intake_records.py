"""The intake records a batch leaves: one per created, updated or refused lead (``lead_intake``)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pipeline.models import IntakeRecord, IntakeStatus
from pipeline.services.bulk_copy import bulk_insert_rows
from pipeline.services.intake_clean import payload_of
from salesladder.errors import DomainError

if TYPE_CHECKING:
    from pipeline.services.intake import ItemResult


def write_records(
    *, results: dict[int, ItemResult], raw_by_index: dict[int, Any], ctx: Any, batch_id: uuid.UUID
) -> None:
    """One intake record per created, updated or refused lead (a replay that changes nothing writes none).

    A refused lead that is already quarantined (an error record of the same team for the same ``source``
    and ``external_id``, or with the same payload when those are missing) updates that record instead of
    adding another: re-importing a file does not repeat its bad rows in the quarantine."""
    records = []
    errors: dict[tuple[str, ...], dict[str, Any]] = {}
    error_team = None
    if any(r.status == IntakeStatus.ERROR for r in results.values()):
        error_team = ctx.default_team
    for index, result in results.items():
        if result.status == IntakeStatus.UNCHANGED:
            continue
        if result.status == IntakeStatus.ERROR:
            payload = payload_of(raw_by_index[index])
            source, external_id = payload.get("source"), payload.get("external_id")
        else:  # a valid lead: its source and external id were checked to be storable
            payload = {}
            source, external_id = raw_by_index[index].get("source"), raw_by_index[index].get("external_id")
        record = {
            "source": str(source or "")[:60],
            "external_id": str(external_id or "")[:120],
            "payload": payload,
            "status": result.status,
            "errors": result.errors,
            "deal_id": result.deal,
            "batch_id": batch_id,
            "index": index,
            "channel": ctx.channel,
            "actor_id": ctx.actor.pk,
            "team_id": result.team_id or (error_team.pk if error_team else None),
            "attempts": 1,
            "created_at": ctx.at,
            "processed_at": ctx.at,
        }
        if result.status == IntakeStatus.ERROR:
            errors[_quarantine_key(record)] = record  # a bad lead repeated in the batch is kept once
        else:
            records.append(record)
    if errors:
        records.extend(_requarantine(errors, team_id=error_team.pk if error_team else None))
    bulk_insert_rows(IntakeRecord, records)


def _quarantine_key(record: dict[str, Any]) -> tuple[str, ...]:
    if record["source"] and record["external_id"]:
        return (record["source"], record["external_id"])
    return (record["source"], record["external_id"], json.dumps(record["payload"], sort_keys=True))


def _requarantine(errors: dict[tuple[str, ...], dict[str, Any]], *, team_id: int | None) -> list[dict[str, Any]]:
    """Update the quarantined records the refused leads repeat (one query to find them, one to update them);
    returns the records still to insert."""
    known = (
        IntakeRecord.objects.filter(
            Q(team__isnull=True) if team_id is None else Q(team_id=team_id),
            status=IntakeStatus.ERROR,
            source__in={r["source"] for r in errors.values()},
            external_id__in={r["external_id"] for r in errors.values()},
        )
        .only("pk", "source", "external_id", "payload", "attempts")
        .order_by("-created_at", "-pk")
    )
    found: dict[tuple[str, ...], IntakeRecord] = {}
    for old in known:
        key = _quarantine_key({"source": old.source, "external_id": old.external_id, "payload": old.payload})
        if key in errors:
            found.setdefault(key, old)  # the newest one
    fields = ["payload", "errors", "batch_id", "index", "channel", "actor_id", "processed_at"]
    for key, old in found.items():
        new = errors.pop(key)
        for name in fields:
            setattr(old, name, new[name])
        old.attempts = min(old.attempts + 1, 32767)
    if found:
        IntakeRecord.objects.bulk_update(list(found.values()), [*fields, "attempts"])
    return list(errors.values())


@transaction.atomic
def intake_record_discard(*, record: IntakeRecord) -> None:
    """Drop a quarantined lead nobody will fix (a junk row, a test post): its record is deleted. Only a
    record still in quarantine; the records of created and updated leads are their audit trail."""
    locked = IntakeRecord.objects.select_for_update().filter(pk=record.pk, status=IntakeStatus.ERROR).first()
    if locked is None:
        raise DomainError({"status": [_("This lead is no longer in quarantine.")]})
    locked.delete()
