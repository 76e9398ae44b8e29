"""Periods: a calendar month (``2026-11``), an ISO week (``2026-W48``) or a quarter (``2026-Q4``),
read in the organisation's time zone (settings.TIME_ZONE)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesladder.errors import DomainError


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    WEEK = "week", _("ISO week")
    QUARTER = "quarter", _("Quarter")


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def org_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def org_today() -> date:
    return timezone.now().astimezone(org_tz()).date()


@dataclass(frozen=True, order=True)
class Period:
    """A half-open range of days ``[start, end)``; ``key`` is how the API and URLs write it."""

    start: date
    end: date
    kind: str
    key: str

    def __str__(self) -> str:
        return self.key

    @classmethod
    def parse(cls, key: str) -> Period:
        key = (key or "").strip().upper()
        try:
            if m := _MONTH.match(key):
                year, month = int(m[1]), int(m[2])
                if 1 <= month <= 12:
                    return cls.month_of(date(year, month, 1))
            elif m := _WEEK.match(key):
                return cls.week_of(date.fromisocalendar(int(m[1]), int(m[2]), 1))
            elif m := _QUARTER.match(key):
                return cls.quarter_of(date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1))
        except (ValueError, OverflowError):
            pass  # year 0, week 53 of a 52-week year, a period running past year 9999
        raise DomainError({"period": [_("Use a month (2026-11), an ISO week (2026-W48) or a quarter (2026-Q4).")]})

    @classmethod
    def month_of(cls, day: date) -> Period:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(start, end, PeriodKind.MONTH, f"{start:%Y-%m}")

    @classmethod
    def week_of(cls, day: date) -> Period:
        start = day - timedelta(days=day.isoweekday() - 1)
        year, week, _ = start.isocalendar()
        return cls(start, start + timedelta(days=7), PeriodKind.WEEK, f"{year}-W{week:02d}")

    @classmethod
    def quarter_of(cls, day: date) -> Period:
        q = (day.month - 1) // 3
        start = date(day.year, q * 3 + 1, 1)
        end = date(day.year + 1, 1, 1) if q == 3 else date(day.year, q * 3 + 4, 1)
        return cls(start, end, PeriodKind.QUARTER, f"{day.year}-Q{q + 1}")

    @classmethod
    def containing(cls, day: date, kind: str = PeriodKind.MONTH) -> Period:
        return {PeriodKind.MONTH: cls.month_of, PeriodKind.WEEK: cls.week_of, PeriodKind.QUARTER: cls.quarter_of}[
            PeriodKind(kind)
        ](day)

    @classmethod
    def current(cls, kind: str = PeriodKind.MONTH) -> Period:
        return cls.containing(org_today(), kind)

    def previous(self) -> Period:
        return Period.containing(self.start - timedelta(days=1), self.kind)

    def next(self) -> Period:
        return Period.containing(self.end, self.kind)

    def last(self, n: int) -> list[Period]:
        """The ``n`` periods ending with this one, oldest first."""
        periods = [self]
        while len(periods) < n:
            periods.append(periods[-1].previous())
        return periods[::-1]

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware datetimes ``[start, end)`` at midnight in the organisation's time zone."""
        tz = org_tz()
        return datetime.combine(self.start, time.min, tz), datetime.combine(self.end, time.min, tz)

    def elapsed_share(self, as_of: date) -> float:
        """Share of the period elapsed at the end of ``as_of`` (0..1)."""
        if as_of < self.start:
            return 0.0
        if as_of >= self.end - timedelta(days=1):
            return 1.0
        return ((as_of - self.start).days + 1) / self.days
