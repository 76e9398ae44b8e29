"""Reading lead rows from a CSV file for ``lead_intake_csv`` (the browser import calls it from a task).

Encoding: UTF-8 (with or without the BOM Excel writes), else GB18030, the superset of GBK that
Chinese Excel and WPS produce. The delimiter is sniffed among ``, ; tab``. ``mapping`` maps a lead
field to a column header (``{"company": "公司名称"}``); without one, columns named like the lead
fields are used. Empty cells count as absent.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from pipeline.services.intake_clean import LEAD_FIELDS
from salesladder.errors import DomainError

MAX_CSV_BYTES = 50 * 1024 * 1024


def _read_bytes(file: Any) -> bytes:
    if isinstance(file, bytes | bytearray):
        return bytes(file)
    if isinstance(file, str | Path):
        return Path(file).read_bytes()
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise DomainError({"file": [_("The file is neither UTF-8 nor GBK text.")]}) from exc


def is_blank_row(row: dict[str | None, Any]) -> bool:
    """A row of empty cells only (``,,,`` — spreadsheets export them below the data): not a lead. The
    preview, the import and its error report all skip such rows, so line numbers agree."""
    return not any(isinstance(v, str) and v.strip() for v in row.values())


def read_lead_rows(*, file: Any, mapping: dict[str, str] | None = None) -> list[dict[str, Any]]:
    data = _read_bytes(file)
    if len(data) > MAX_CSV_BYTES:
        raise DomainError({"file": [_("The file is larger than 50 MB; split it.")]})
    text = decode_csv(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    headers = [h.strip() for h in (reader.fieldnames or [])]
    if not headers:
        raise DomainError({"file": [_("The file is empty or has no header row.")]})
    reader.fieldnames = headers
    if mapping:
        unknown_fields = sorted(set(mapping) - set(LEAD_FIELDS))
        missing_columns = sorted({c for c in mapping.values() if c not in headers})
        errors: dict[str, list[str]] = {}
        if unknown_fields:
            errors["mapping"] = [_("Unknown lead field(s): %(f)s.") % {"f": ", ".join(unknown_fields)}]
        if missing_columns:
            errors.setdefault("mapping", []).append(
                _("Column(s) not in the file: %(c)s.") % {"c": ", ".join(missing_columns)}
            )
        if errors:
            raise DomainError(errors)
        columns = dict(mapping)
    else:
        columns = {name: name for name in LEAD_FIELDS if name in headers}
    rows = []
    for row in reader:
        if is_blank_row(row):
            continue
        lead = {}
        for name, column in columns.items():
            value = row.get(column)
            if isinstance(value, str) and value.strip():
                lead[name] = value.strip()
        rows.append(lead)
    return rows
