"""Lead CSV import pages (managers and admins): upload → column mapping → job progress → results, and the
quarantine of leads that failed validation (fix the fields and re-run them).

The import runs in a Celery task (``pipeline.imports.lead_import_task``); the job page polls its progress
with htmx every second until it is finished. With eager tasks (``make run``) the job is finished before
the redirect, and the page simply renders the result.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from pipeline.imports import (
    MAX_UPLOAD_BYTES,
    csv_preview,
    import_error_rows,
    import_job_create,
    import_job_start,
)
from pipeline.intake_selectors import import_jobs_visible_to, quarantine_visible_to
from pipeline.models import ImportJob, ImportStatus, IntakeStatus
from pipeline.services.intake import intake_record_retry
from pipeline.services.intake_clean import LEAD_FIELDS
from pipeline.services.intake_records import intake_record_discard
from salesladder.csv_export import csv_response
from salesladder.errors import DomainError
from salesladder.http import AuthedRequest, flash_domain_errors
from salesladder.org.context_processors import REP, user_role

FIELD_LABELS = {
    "source": gettext_lazy("Source"),
    "external_id": gettext_lazy("Lead id (external id)"),
    "company": gettext_lazy("Company"),
    "contact_name": gettext_lazy("Contact name"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "title": gettext_lazy("Job title"),
    "amount": gettext_lazy("Amount"),
    "currency": gettext_lazy("Currency"),
    "owner": gettext_lazy("Owner (username or email)"),
    "notes": gettext_lazy("Notes"),
}
REQUIRED_FIELDS = ("source", "external_id")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8 or GBK, comma, semicolon or tab separated, first row = column names; at most 5 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    source_default = forms.CharField(
        label=gettext_lazy("Source for every row"),
        required=False,
        max_length=60,
        help_text=gettext_lazy("Used when the file has no source column, e.g. “trade-show-2026”."),
    )


def _require_lead(request: AuthedRequest) -> None:
    if user_role(request.user) == REP:
        raise Http404


def _job_or_404(request: AuthedRequest, pk: int, *, with_data: bool = False) -> ImportJob:
    qs = import_jobs_visible_to(user=request.user)
    return get_object_or_404(qs.defer(None) if with_data else qs, pk=pk)


# --- upload ------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def lead_import(request: AuthedRequest) -> HttpResponse:
    _require_lead(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None and upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            form.is_valid()
            form.add_error(
                "file", _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_UPLOAD_BYTES // 2**20}
            )
            status = 413
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = import_job_create(
                    filename=upload.name,
                    data=upload.read(),
                    actor=request.user,
                    source_default=form.cleaned_data["source_default"],
                )
            except DomainError as exc:
                for field, msgs in exc.errors.items():
                    for message in msgs:
                        form.add_error(field if field in form.fields else None, message)
                status = 400
            else:
                return redirect("lead_import_mapping", pk=job.pk)
        else:
            status = 400
    context = {
        "form": form,
        "jobs": list(import_jobs_visible_to(user=request.user)[:10]),
        "max_mb": MAX_UPLOAD_BYTES // 2**20,
    }
    return render(request, "pipeline/imports/upload.html", context, status=status)


# --- mapping -----------------------------------------------------------------------------------------------


def _mapping_rows(job: ImportJob, chosen: dict[str, str], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "field": field,
            "label": FIELD_LABELS[field],
            "required": field in REQUIRED_FIELDS,
            "chosen": chosen.get(field, ""),
            "errors": errors.get(field, []),
        }
        for field in LEAD_FIELDS
    ]


@login_required
@require_http_methods(["GET", "POST"])
def lead_import_mapping(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_lead(request)
    job = _job_or_404(request, pk, with_data=True)
    if job.status != ImportStatus.MAPPING:
        return redirect("lead_import_job", pk=job.pk)
    chosen = dict(job.mapping)
    source_default = job.source_default
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        chosen = {f: request.POST.get(f"map-{f}", "") for f in LEAD_FIELDS}
        source_default = request.POST.get("source_default", "")
        try:
            import_job_start(job=job, mapping=chosen, source_default=source_default, actor=request.user)
        except DomainError as exc:
            errors = exc.errors
            status = 400
        else:
            return redirect("lead_import_job", pk=job.pk)
    preview = csv_preview(bytes(job.data))
    context = {
        "job": job,
        "preview": preview,
        "rows": _mapping_rows(job, chosen, errors),
        "source_default": source_default,
        "non_field_errors": errors.get("status", []) + errors.get("non_field_errors", []),
    }
    return render(request, "pipeline/imports/mapping.html", context, status=status)


# --- job and results ---------------------------------------------------------------------------------------


@login_required
@require_GET
def lead_import_job(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_lead(request)
    job = _job_or_404(request, pk)
    if job.status == ImportStatus.MAPPING:
        return redirect("lead_import_mapping", pk=job.pk)
    template = "pipeline/imports/_progress.html" if request.htmx else "pipeline/imports/job.html"
    return render(request, template, {"job": job})


@login_required
@require_GET
def lead_import_errors(request: AuthedRequest, pk: int) -> HttpResponse:
    """The error report: the rows that failed, with their line numbers and errors (UTF-8 CSV with a BOM)."""
    _require_lead(request)
    job = _job_or_404(request, pk, with_data=True)
    if job.status != ImportStatus.DONE:
        raise Http404
    header, rows = import_error_rows(job=job)
    stem = job.filename.rsplit(".", 1)[0][:80] or "import"
    return csv_response(f"{stem}-errors.csv", header, rows)


# --- quarantine --------------------------------------------------------------------------------------------


@login_required
@require_GET
def quarantine(request: AuthedRequest) -> HttpResponse:
    _require_lead(request)
    qs = quarantine_visible_to(user=request.user).select_related("team", "actor").order_by("-created_at", "-pk")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "pipeline/imports/quarantine.html", {"page_obj": page, "records": page.object_list})


@login_required
@require_http_methods(["GET", "POST"])
def quarantine_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_lead(request)
    record = get_object_or_404(quarantine_visible_to(user=request.user), pk=pk)
    payload = record.payload if isinstance(record.payload, dict) else {}
    values = {f: "" if payload.get(f) is None else str(payload.get(f)) for f in LEAD_FIELDS}
    errors: dict[str, list[str]] = dict(record.errors or {})
    status = 200
    if request.method == "POST":
        posted = {f: request.POST.get(f, "").strip() for f in LEAD_FIELDS}
        fixes = {f: (v or None) for f, v in posted.items() if v != values[f]}
        try:
            record = intake_record_retry(record=record, fixes=fixes, actor=request.user)
        except DomainError as exc:
            errors = exc.errors
            status = 400
        else:
            if record.status == IntakeStatus.ERROR:
                messages.error(request, _("The lead still has errors; it stays in quarantine."))
                values, errors, status = posted, dict(record.errors or {}), 400
            else:
                messages.success(
                    request, _("Lead re-run: %(status)s.") % {"status": record.get_status_display().lower()}
                )
                return redirect("lead_quarantine")
    rows = [
        {"field": f, "label": FIELD_LABELS[f], "value": values[f], "errors": errors.get(f, [])} for f in LEAD_FIELDS
    ]
    other_errors = [m for k, msgs in errors.items() if k not in LEAD_FIELDS for m in msgs]
    context = {"record": record, "rows": rows, "other_errors": other_errors}
    return render(request, "pipeline/imports/quarantine_retry.html", context, status=status)


@login_required
@require_http_methods(["POST"])
def quarantine_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    """Discard a quarantined lead, after a confirmation (the page asks first)."""
    _require_lead(request)
    record = get_object_or_404(quarantine_visible_to(user=request.user), pk=pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "pipeline/imports/quarantine_discard.html", {"record": record})
    try:
        intake_record_discard(record=record)
    except DomainError as exc:
        flash_domain_errors(request, exc)
    else:
        messages.success(request, _("The lead was discarded."))
    return redirect("lead_quarantine")
