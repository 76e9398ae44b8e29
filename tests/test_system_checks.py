"""`make run` and every management command start without warnings on the embedded defaults."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_system_checks_report_nothing_on_the_configured_database():
    out, err = StringIO(), StringIO()

    call_command("check", databases=["default"], stdout=out, stderr=err)

    assert "WARNINGS" not in err.getvalue() + out.getvalue()
    assert "no issues" in out.getvalue()
