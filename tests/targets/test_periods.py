from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from salesladder.errors import DomainError
from targets.periods import Period


@pytest.mark.parametrize(
    ("key", "start", "end", "previous", "following"),
    [
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1), "2026-10", "2026-12"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026-11", "2027-01"),
        ("2026-W48", date(2026, 11, 23), date(2026, 11, 30), "2026-W47", "2026-W49"),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5), "2025-W52", "2026-W02"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "2026-Q3", "2027-Q1"),
        ("2026-q1", date(2026, 1, 1), date(2026, 4, 1), "2025-Q4", "2026-Q2"),
    ],
)
def test_periods_parse_print_and_step(key, start, end, previous, following):
    period = Period.parse(key)

    assert (period.start, period.end) == (start, end)
    assert str(period) == key.upper()
    assert str(period.previous()) == previous
    assert str(period.next()) == following


@pytest.mark.parametrize(
    "key",
    [
        "",
        "2026",
        "2026-13",
        "2026-00",
        "2026-W54",
        "2025-W53",
        "2026-Q5",
        "0000-01",
        "9999-12",
        "9999-Q4",
        "9999-W52",
        "nov 2026",
    ],
)
def test_malformed_or_out_of_range_periods_are_field_errors(key):
    with pytest.raises(DomainError) as excinfo:
        Period.parse(key)

    assert list(excinfo.value.errors) == ["period"]


def test_bounds_are_midnight_in_the_organisation_time_zone(settings):
    settings.TIME_ZONE = "Asia/Shanghai"

    start, end = Period.parse("2026-11").bounds()

    assert start == datetime(2026, 11, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert end == datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_elapsed_share_runs_from_the_first_to_the_last_day():
    november = Period.parse("2026-11")

    assert november.elapsed_share(date(2026, 10, 31)) == 0.0
    assert november.elapsed_share(date(2026, 11, 15)) == pytest.approx(0.5)
    assert november.elapsed_share(date(2026, 11, 30)) == 1.0
