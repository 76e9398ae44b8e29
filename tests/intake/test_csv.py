"""CSV entry point used by the browser import: encodings, column mapping, progress, same rules as the API."""

from __future__ import annotations

import io

import pytest

from pipeline.models import Channel, Deal, IntakeRecord, StageTransition
from pipeline.services.intake import lead_intake_csv
from salesladder.errors import DomainError

CSV = (
    "source,external_id,company,contact_name,email,amount\n"
    "fair,F-1,华为技术有限公司,李雷,li@huawei.example,1000\n"
    "fair,F-2,Acme Ltd,Jane,jane@acme.example,oops\n"
    "fair,F-3,Globex,,bob@globex.example,\n"
)


def test_utf8_with_bom_creates_deals_and_quarantines_bad_rows(org):
    progress: list[tuple[int, int]] = []

    result = lead_intake_csv(
        file=io.BytesIO(b"\xef\xbb\xbf" + CSV.encode()),
        actor=org.manager,
        progress_callback=lambda done, total: progress.append((done, total)),
    )

    assert [r.status for r in result.results] == ["created", "error", "created"]
    assert result.results[1].errors == {"amount": ["Enter a number."]}
    assert progress == [(3, 3)]
    assert set(Deal.objects.values_list("account__name", flat=True)) == {"华为技术有限公司", "Globex"}
    assert set(StageTransition.objects.values_list("channel", flat=True)) == {Channel.IMPORT}
    assert IntakeRecord.objects.get(status="error").payload["amount"] == "oops"


def test_gbk_files_from_chinese_excel_are_read(org):
    result = lead_intake_csv(file=CSV.encode("gbk"), actor=org.manager)

    assert result.totals["created"] == 2
    assert Deal.objects.filter(account__name="华为技术有限公司").exists()


def test_a_mapping_reads_other_column_names_and_chunks_report_progress(org):
    rows = "来源,编号,公司,邮箱\n" + "".join(f"expo,E-{i},Company {i},p{i}@c{i}.example\n" for i in range(5))
    progress: list[tuple[int, int]] = []

    result = lead_intake_csv(
        file=rows.encode("utf-8"),
        mapping={"source": "来源", "external_id": "编号", "company": "公司", "email": "邮箱"},
        actor=org.manager,
        chunk_size=2,
        progress_callback=lambda done, total: progress.append((done, total)),
    )

    assert result.totals["created"] == 5
    assert [r.index for r in result.results] == [0, 1, 2, 3, 4]
    assert progress == [(2, 5), (4, 5), (5, 5)]


def test_importing_the_same_file_twice_changes_nothing(org):
    lead_intake_csv(file=CSV.encode(), actor=org.manager)

    again = lead_intake_csv(file=CSV.encode(), actor=org.manager)

    assert again.totals["unchanged"] == 2
    assert again.totals["created"] == 0
    assert Deal.objects.count() == 2


def test_importing_the_same_file_twice_keeps_one_quarantine_record_per_bad_row(org):
    lead_intake_csv(file=CSV.encode(), actor=org.manager)
    record = IntakeRecord.objects.get(status="error")
    first_batch = record.batch_id
    fixed_elsewhere = CSV.replace("jane@acme.example,oops", "jane@acme.example,12.345")

    again = lead_intake_csv(file=fixed_elsewhere.encode(), actor=org.manager)

    assert again.totals["error"] == 1  # the answer still reports the bad row
    record.refresh_from_db()
    assert IntakeRecord.objects.filter(status="error").count() == 1
    assert record.attempts == 2
    assert record.payload["amount"] == "12.345"  # the latest version of the row and its errors
    assert record.errors == {"amount": ["Ensure that there are no more than 2 decimal places."]}
    assert record.batch_id != first_batch  # listed under the latest import's request


def test_a_bad_row_without_an_id_is_recognised_by_its_content(org):
    rows = "source,external_id,company,email\nfair,,Initech,bill@initech.example\nfair,,Initrode,x\n"

    lead_intake_csv(file=rows.encode(), actor=org.manager)
    lead_intake_csv(file=rows.encode(), actor=org.manager)
    lead_intake_csv(file=rows.replace("Initrode", "Initrode AG").encode(), actor=org.manager)

    quarantined = IntakeRecord.objects.filter(status="error").order_by("pk")
    assert [(r.payload.get("company"), r.attempts) for r in quarantined] == [
        ("Initech", 3),  # the same row three times: one record
        ("Initrode", 2),
        ("Initrode AG", 1),  # a different row: a record of its own
    ]


def test_a_mapping_naming_missing_columns_is_refused(org):
    with pytest.raises(DomainError) as exc:
        lead_intake_csv(file=CSV.encode(), mapping={"company": "Firma"}, actor=org.manager)

    assert "mapping" in exc.value.errors
