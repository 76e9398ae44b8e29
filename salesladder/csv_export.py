"""CSV downloads: one writer for every export (dashboards, drill-downs, import error reports)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection"); deal titles
# and account names arrive from outside through the lead intake, so text cells are defused.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as written to the file: text that a spreadsheet would run as a formula gets a leading
    apostrophe (shown as text, not evaluated); numbers, dates and other text are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    """A CSV download: UTF-8 with a byte-order mark (so Excel reads Chinese text correctly), the file name
    encoded per RFC 6266 (non-ASCII and quotes survive), formula-like text cells defused."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([safe_cell(v) for v in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return response
