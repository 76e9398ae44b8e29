"""Lead CSV import pages end to end: upload checks, mapping guessed from English/Chinese headers, the job
(through the intake service), progress and results, the error report, and the quarantine with re-run."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline.imports import MAX_UPLOAD_BYTES, guess_mapping, import_job_run
from pipeline.models import Deal, ImportJob, ImportStatus, IntakeRecord, IntakeStatus

pytestmark = pytest.mark.django_db

GOOD = (
    "Source,Lead ID,Company,Contact,Email,Amount\n"
    "expo,1,Acme Ltd,Ann Lee,ann@acme.test,1200\n"
    "expo,2,Beta GmbH,Bo Chen,bo@beta.test,\n"
    "expo,3,Gamma Inc,Gil,not-an-email,50\n"
)
CHINESE = "来源,线索编号,公司名称,联系人,电子邮件\n展会,A1,北京科技有限公司,王伟,wang@bjtech.test\n"


def _upload(client, content: bytes | str, name: str = "leads.csv", **extra):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/leads/import/", {"file": SimpleUploadedFile(name, data, "text/csv"), **extra})


def _map(client, job: ImportJob, **overrides):
    data = {f"map-{k}": v for k, v in {**job.mapping, **overrides}.items()}
    return client.post(f"/leads/import/{job.pk}/mapping/", data)


def test_guess_mapping_understands_english_and_chinese_headers():
    assert guess_mapping(["Source", "Lead ID", "Company Name", "E-mail", "Phone Number", "Owner"]) == {
        "source": "Source",
        "external_id": "Lead ID",
        "company": "Company Name",
        "email": "E-mail",
        "phone": "Phone Number",
        "owner": "Owner",
    }
    assert guess_mapping(["来源", "线索编号", "公司名称", "联系人", "手机", "备注", "金额"]) == {
        "source": "来源",
        "external_id": "线索编号",
        "company": "公司名称",
        "contact_name": "联系人",
        "phone": "手机",
        "amount": "金额",
        "notes": "备注",
    }


def test_import_end_to_end(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)

    # upload → mapping page with the first rows and guessed columns
    response = _upload(client, GOOD)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/leads/import/{job.pk}/mapping/"
    mapping_page = client.get(response.url).content.decode()
    assert "Acme Ltd" in mapping_page
    assert '<option value="Lead ID" selected>' in mapping_page
    assert job.mapping["contact_name"] == "Contact"

    # confirm → the task runs after the commit, through the intake service
    with django_capture_on_commit_callbacks(execute=True):
        started = _map(client, job)
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (2, 0, 0, 1)
    assert set(Deal.objects.values_list("external_id", flat=True)) == {"1", "2"}
    assert Deal.objects.get(external_id="1").transitions.get().channel == "import"

    page = client.get(started.url).content.decode()
    assert 'data-testid="created">2<' in page
    assert 'data-testid="errors">1<' in page
    assert "hx-trigger" not in page  # finished: no more polling

    # the error report: line number, the row's values and the error
    report = client.get(f"/leads/import/{job.pk}/errors.csv")
    body = report.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][0] == "Line"
    assert rows[0][-1] == "Errors"
    assert rows[1][0] == "4"
    assert "not-an-email" in rows[1]
    assert "email" in rows[1][-1]

    # the bad row is in the quarantine
    assert IntakeRecord.objects.filter(status=IntakeStatus.ERROR, external_id="3").exists()


def test_importing_the_same_file_twice_creates_no_duplicates(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    for _ in range(2):
        _upload(client, GOOD)
        job = ImportJob.objects.order_by("-pk").first()
        with django_capture_on_commit_callbacks(execute=True):
            _map(client, job)
    job.refresh_from_db()
    assert Deal.objects.count() == 2
    assert (job.created_count, job.unchanged_count, job.error_count) == (0, 2, 1)


def test_chinese_gbk_file_with_source_for_every_row(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    body = "线索编号,公司名称,联系人\nA1,北京科技有限公司,王伟\n".encode("gb18030")
    _upload(client, body, source_default="展会2026")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/leads/import/{job.pk}/mapping/",
            {
                "map-external_id": "线索编号",
                "map-company": "公司名称",
                "map-contact_name": "联系人",
                "source_default": "展会2026",
            },
        )
    deal = Deal.objects.get()
    assert deal.source == "展会2026"
    assert deal.account.name == "北京科技有限公司"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "leads.csv", "The submitted file is empty."),
        (b"\x00\x01\x02binary", "leads.csv", "binary data"),
        (b"source,external_id\n", "leads.csv", "no leads"),
        (b"a,b\n1,2\n", "leads.xlsx", "Upload a .csv file"),
        (b"id,id\n1,2\n", "leads.csv", "same name"),
    ],
)
def test_upload_errors_are_clear(login, org, content, name, message):
    response = _upload(login(org.manager), content, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_oversize_upload_is_413(login, org):
    big = b"source,external_id\n" + b"x,1\n" * (MAX_UPLOAD_BYTES // 4 + 10)
    response = _upload(login(org.manager), big)
    assert response.status_code == 413
    assert "larger than 5 MB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_mapping_errors(login, org):
    client = login(org.manager)
    _upload(client, "Company,Email\nAcme,a@acme.test\n")
    job = ImportJob.objects.get()
    response = client.post(
        f"/leads/import/{job.pk}/mapping/", {"map-company": "Company", "map-email": "Company", "map-notes": "Nope"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "it is what prevents duplicates" in html
    assert "give a source for the whole file" in html
    assert "is already used for another field" in html
    assert "Column not in the file." in html
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_job_page_polls_while_running(login, org):
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, processed=1, total=3)

    page = client.get(f"/leads/import/{job.pk}/").content.decode()
    partial = client.get(f"/leads/import/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="33"' in page
    assert "1 of 3 rows" in partial
    assert "<html" not in partial

    import_job_run(job_id=job.pk)
    done = client.get(f"/leads/import/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in done
    assert 'aria-valuenow="100"' in done


def test_roles_and_scope(login, org):
    assert login(org.alice).get("/leads/import/").status_code == 404
    assert login(org.alice).get("/leads/quarantine/").status_code == 404
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()
    other = login(org.mgr_west)
    assert other.get(f"/leads/import/{job.pk}/").status_code == 404
    assert other.get(f"/leads/import/{job.pk}/mapping/").status_code == 404
    assert login(org.admin).get(f"/leads/import/{job.pk}/mapping/").status_code == 200


def test_quarantine_fix_and_rerun(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job)
    record = IntakeRecord.objects.get(status=IntakeStatus.ERROR)

    listing = client.get("/leads/quarantine/").content.decode()
    assert "Gamma Inc" in listing
    assert login(org.mgr_west).get(f"/leads/quarantine/{record.pk}/").status_code == 404

    client = login(org.manager)
    still_bad = client.post(f"/leads/quarantine/{record.pk}/", {**record.payload, "email": "still bad"})
    assert still_bad.status_code == 400
    fixed = client.post(
        f"/leads/quarantine/{record.pk}/",
        {**{k: v or "" for k, v in record.payload.items()}, "email": "gil@gamma.test"},
    )
    assert fixed.status_code == 302
    record.refresh_from_db()
    assert record.status == IntakeStatus.CREATED
    assert Deal.objects.filter(external_id="3").exists()
    assert "Gamma Inc" not in client.get("/leads/quarantine/").content.decode()


def test_a_redelivered_job_does_not_duplicate(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job)
    # the worker died after the import but before acknowledging: the task runs again
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    import_job_run(job_id=job.pk)
    import_job_run(job_id=job.pk)  # and once more after it finished: nothing happens
    job.refresh_from_db()
    assert Deal.objects.count() == 2
    assert (job.status, job.created_count, job.unchanged_count, job.error_count) == (ImportStatus.DONE, 0, 2, 1)


def test_blank_rows_are_not_leads_and_line_numbers_stay_right(login, org, django_capture_on_commit_callbacks):
    # given: spreadsheets export rows of empty cells below (and between) the data
    content = "Source,Lead ID,Company,Email\nexpo,1,Acme Ltd,ann@acme.test\n,,,\nexpo,2,Beta,not-an-email\n,,,\n"
    client = login(org.manager)
    _upload(client, content)
    job = ImportJob.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job)

    # then: two leads, one error (on line 4 of the file), no junk quarantine record for the blank rows
    job.refresh_from_db()
    assert (job.total, job.created_count, job.error_count) == (2, 1, 1)
    assert IntakeRecord.objects.filter(status=IntakeStatus.ERROR).count() == 1
    report = client.get(f"/leads/import/{job.pk}/errors.csv").content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(report[1:])))
    assert [r[0] for r in rows[1:]] == ["4"]
    assert "not-an-email" in rows[1]


def test_error_report_keeps_a_chinese_file_name(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    _upload(client, GOOD, name='线索 "q".csv')
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job)

    response = client.get(f"/leads/import/{job.pk}/errors.csv")

    # RFC 6266: an ASCII fallback plus the UTF-8 name, so the browser saves "线索 "q"-errors.csv"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert "%E7%BA%BF%E7%B4%A2" in disposition  # 线索


def test_an_unexpected_error_fails_the_job_instead_of_leaving_it_running(
    login, org, django_capture_on_commit_callbacks, monkeypatch
):
    # given: the intake service hits a bug (simulated) half-way
    def broken(**kwargs):
        raise ValueError("simulated bug")

    monkeypatch.setattr("pipeline.imports.lead_intake_csv", broken)
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()

    # when: the in-process run starts from the mapping page
    with django_capture_on_commit_callbacks(execute=True):
        response = _map(client, job)

    # then: the page works, the job is failed with a clear message and its page stops polling
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "unexpected error" in job.failure
    page = client.get(response.url).content.decode()
    assert "hx-trigger" not in page
    assert "nothing was imported" in page


def test_quarantined_lead_can_be_discarded_after_a_confirmation(login, org, django_capture_on_commit_callbacks):
    client = login(org.manager)
    _upload(client, GOOD)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _map(client, job)
    record = IntakeRecord.objects.get(status=IntakeStatus.ERROR)
    url = f"/leads/quarantine/{record.pk}/discard/"

    # another team's manager cannot reach it; a first POST only asks
    assert login(org.mgr_west).post(url, {"confirm": "yes"}).status_code == 404
    client = login(org.manager)
    ask = client.post(url)
    assert 'data-testid="confirm-discard"' in ask.content.decode()
    assert IntakeRecord.objects.filter(pk=record.pk).exists()

    done = client.post(url, {"confirm": "yes"})

    assert done.status_code == 302
    assert not IntakeRecord.objects.filter(pk=record.pk).exists()
    assert "Gamma Inc" not in client.get("/leads/quarantine/").content.decode()
    assert IntakeRecord.objects.filter(status=IntakeStatus.CREATED).count() == 2  # the good leads' records stay
    assert client.post(url, {"confirm": "yes"}).status_code == 404  # gone: a second discard finds nothing
