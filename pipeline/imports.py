"""Browser CSV import of leads: upload checks, column guessing, and the job that runs ``lead_intake_csv``.

The job stores the file's bytes and, once the user has confirmed the column mapping, a Celery task
(``lead_import_task``) feeds it through the same intake service as the API, chunk by chunk, writing the
progress on the job after each chunk (its own small UPDATE, so a page polling the job sees it move).
Re-running a finished job changes nothing: the intake service upserts on ``(source, external_id)``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import ImportJob, ImportStatus, IntakeStatus
from pipeline.services.intake import lead_intake_csv
from pipeline.services.intake_clean import LEAD_FIELDS
from pipeline.services.intake_csv import decode_csv, is_blank_row
from salesladder.errors import DomainError
from salesladder.org.models import User

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PREVIEW_ROWS = 5
CHUNK_SIZE = 200
ALLOWED_EXTENSIONS = (".csv", ".txt", ".tsv")

# Header spellings recognised when guessing the mapping (compared lower-case, without spaces, _ or -).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "source": ("source", "leadsource", "channel", "来源", "线索来源", "渠道"),
    "external_id": ("externalid", "id", "leadid", "reference", "ref", "编号", "线索编号", "外部编号", "外部id"),
    "company": (
        "company",
        "companyname",
        "account",
        "organisation",
        "organization",
        "公司",
        "公司名称",
        "企业",
        "企业名称",
        "客户",
    ),
    "contact_name": ("contactname", "contact", "name", "fullname", "联系人", "姓名", "联系人姓名"),
    "email": ("email", "emailaddress", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件"),
    "phone": ("phone", "telephone", "tel", "mobile", "phonenumber", "电话", "手机", "联系电话", "手机号"),
    "title": ("title", "jobtitle", "position", "role", "职位", "职务", "头衔"),
    "amount": ("amount", "value", "dealvalue", "budget", "金额", "预计金额", "预算"),
    "currency": ("currency", "币种", "货币"),
    "owner": ("owner", "salesrep", "rep", "assignee", "负责人", "销售", "所有者", "跟进人"),
    "notes": ("notes", "note", "comment", "comments", "remarks", "备注", "说明", "留言"),
}
_NORMALISE = re.compile(r"[\s_\-./:：（）()]+")


def _norm(header: str) -> str:
    return _NORMALISE.sub("", header.strip().lower())


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """``{lead field: header}`` for the headers that look like a lead field (English or Chinese)."""
    by_norm = {_norm(h): h for h in headers}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field in LEAD_FIELDS:
        for synonym in SYNONYMS[field]:
            header = by_norm.get(synonym)
            if header is not None and header not in used:
                mapping[field] = header
                used.add(header)
                break
    return mapping


@dataclass(frozen=True)
class CsvPreview:
    headers: list[str]
    rows: list[list[str]]
    row_count: int


def _reader(text: str) -> Any:
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text, newline=""), dialect=dialect)


def csv_preview(data: bytes) -> CsvPreview:
    """The header row, the first rows and the number of data rows; a DomainError on the ``file`` field
    for anything that is not a usable CSV."""
    if not data.strip():
        raise DomainError({"file": [_("The file is empty.")]})
    if b"\x00" in data[:8192]:
        raise DomainError({"file": [_("This is not a CSV text file (it contains binary data).")]})
    text = decode_csv(data)
    try:
        rows = list(_reader(text))
    except csv.Error as exc:
        raise DomainError({"file": [_("The file could not be read as CSV: %(error)s") % {"error": exc}]}) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DomainError({"file": [_("The file is empty.")]})
    headers = [h.strip() for h in rows[0]]
    if not any(headers):
        raise DomainError({"file": [_("The first row must name the columns.")]})
    if len(set(headers)) != len(headers):
        raise DomainError({"file": [_("Two columns have the same name; rename one of them.")]})
    if len(rows) < 2:
        raise DomainError({"file": [_("The file has a header row but no leads.")]})
    return CsvPreview(headers=headers, rows=rows[1 : PREVIEW_ROWS + 1], row_count=len(rows) - 1)


def import_job_create(*, filename: str, data: bytes, actor: User, source_default: str = "") -> ImportJob:
    """Check an uploaded file and keep it with a guessed mapping, waiting for the user to confirm it."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(
            {"file": [_("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_UPLOAD_BYTES // 2**20}]}
        )
    if not filename.lower().endswith(ALLOWED_EXTENSIONS):
        raise DomainError({"file": [_("Upload a .csv file (comma, semicolon or tab separated).")]})
    preview = csv_preview(data)
    return ImportJob.objects.create(
        created_by=actor,
        filename=filename[:255],
        data=data,
        headers=preview.headers,
        mapping=guess_mapping(preview.headers),
        source_default=source_default.strip()[:60],
        total=preview.row_count,
    )


def import_mapping_clean(*, headers: list[str], mapping: dict[str, str], source_default: str) -> dict[str, str]:
    """Keep the chosen columns; each column feeds one field; the idempotency key must be mapped."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    seen: dict[str, str] = {}
    for field in LEAD_FIELDS:
        column = (mapping.get(field) or "").strip()
        if not column:
            continue
        if column not in headers:
            errors[field] = [_("Column not in the file.")]
        elif column in seen:
            errors[field] = [_("Column “%(c)s” is already used for another field.") % {"c": column}]
        else:
            seen[column] = field
            cleaned[field] = column
    if "external_id" not in cleaned and "external_id" not in errors:
        errors["external_id"] = [_("Choose the column with each lead's id: it is what prevents duplicates.")]
    if "source" not in cleaned and not source_default.strip() and "source" not in errors:
        errors["source"] = [_("Choose the source column, or give a source for the whole file.")]
    if errors:
        raise DomainError(errors)
    return cleaned


@transaction.atomic
def import_job_start(*, job: ImportJob, mapping: dict[str, str], source_default: str, actor: User) -> ImportJob:
    """Confirm the mapping and queue the import (the task runs after the commit)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.MAPPING:
        raise DomainError({"status": [_("This import has already been started.")]})
    job.mapping = import_mapping_clean(headers=job.headers, mapping=mapping, source_default=source_default)
    job.source_default = source_default.strip()[:60]
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["mapping", "source_default", "status"])
    job_id = job.pk
    transaction.on_commit(lambda: lead_import_task.delay(job_id))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued import through ``lead_intake_csv``; idempotent (a finished job is left alone)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.is_finished:
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now(), processed=0)

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed=done, total=total)

    try:
        result = lead_intake_csv(
            file=bytes(job.data),
            mapping=job.mapping,
            actor=job.created_by,
            source_default=job.source_default or None,
            progress_callback=progress,
            chunk_size=CHUNK_SIZE,
        )
    except DomainError as exc:
        return _failed(job, exc.message)
    except OperationalError:
        raise  # the database went away: the task retries the job (the intake is idempotent)
    except Exception:
        # a bug, not the file: logged with its traceback, and the job must not stay "running" (its page
        # would poll forever); not re-raised, so an in-process run does not fail the page that started it
        logger.exception("lead import %s stopped on an unexpected error", job.pk)
        return _failed(job, _("An unexpected error stopped the import. Please tell your administrator."))
    totals = result.totals
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE,
        total=totals["received"],
        processed=totals["received"],
        created_count=totals[IntakeStatus.CREATED],
        updated_count=totals[IntakeStatus.UPDATED],
        unchanged_count=totals[IntakeStatus.UNCHANGED],
        error_count=totals[IntakeStatus.ERROR],
        errors=[{"index": r.index, "errors": r.errors} for r in result.results if r.status == IntakeStatus.ERROR],
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _failed(job: ImportJob, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, failure=message, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def import_error_rows(*, job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """The error report: the line number in the file, the row's mapped values and its errors."""
    text = decode_csv(bytes(job.data))
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=_reader(text[:4096]).dialect)
    reader.fieldnames = [h.strip() for h in (reader.fieldnames or [])]
    by_index = {e["index"]: e["errors"] for e in job.errors}
    fields = [f for f in LEAD_FIELDS if f in job.mapping]
    header = [_("Line"), *[job.mapping[f] for f in fields], _("Errors")]
    rows = []
    leads = (row for row in reader if not is_blank_row(row))
    for index, row in enumerate(leads):  # the same rows, in the same order, as ``read_lead_rows``
        if index in by_index:
            messages = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in by_index[index].items())
            rows.append([str(reader.line_num), *[(row.get(job.mapping[f]) or "") for f in fields], messages])
    return header, rows


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def lead_import_task(self, import_id: int) -> str:  # type: ignore[no-untyped-def]
    """Run one browser CSV import (``import_job_run``); safe to retry. When the database stays away past
    the last retry the job is marked failed, so its page stops waiting."""
    try:
        return import_job_run(job_id=import_id).status
    except OperationalError:
        if self.request.retries >= self.max_retries:
            _failed(ImportJob.objects.get(pk=import_id), _("The database was unavailable; the import stopped."))
        raise
