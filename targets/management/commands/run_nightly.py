"""``python manage.py run_nightly [--date YYYY-MM-DD] [--full]``: the nightly job, synchronously."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from targets.calibration import stage_win_rates_report
from targets.periods import org_today
from targets.services import nightly_run, snapshot_periods


class Command(BaseCommand):
    help = (
        "Stale flags, funnel and attainment snapshots as of the end of --date (default: today so far), "
        "the period-end hooks (draft reviews) and the observed win rate per rung — the same work the 01:00 and "
        "01:30 beat tasks do."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD in the organisation's time zone (default: today)")
        parser.add_argument("--full", action="store_true", help="Recompute from scratch, not incrementally")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else org_today()
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        steps = 1 + len(snapshot_periods(day))
        with tqdm(total=steps, desc=f"nightly {day}", unit="step", disable=options["verbosity"] == 0) as bar:

            def progress(label: str) -> None:
                bar.set_postfix_str(label)
                bar.update(1)

            stats = nightly_run(run_date=day, full=options["full"], progress=progress)
        self._report_win_rates(day)
        hooks = ", ".join(stats["hooks"]) or "none"
        closed = ", ".join(stats["closed_periods"]) or "none"
        if stats.get("skipped"):
            self.stdout.write(
                f"{day}: snapshots already up to date (nothing changed since the last run); "
                f"closed periods: {closed}; hooks: {hooks}."
            )
            return
        modes = ", ".join(f"{k} {v}" for k, v in stats["periods"].items())
        self.stdout.write(
            self.style.SUCCESS(
                f"{day}: {stats['funnel_rows']} funnel and {stats['scope_rows']} scope snapshot rows "
                f"({modes}); {stats['stale_changed']} stale flags changed; closed periods: {closed}; "
                f"hooks: {hooks}; {stats['seconds']} s."
            )
        )

    def _report_win_rates(self, day: date) -> None:
        report = stage_win_rates_report(run_date=day)
        drifted = [r for r in report["stages"] if r["drift"]]
        if not drifted:
            self.stdout.write(f"{day}: observed win rates are in line with the configured probabilities.")
            return
        rows = "; ".join(
            f"{r['stage']} {round((r['observed'] or 0) * 100)} % observed vs {r['configured_probability']} %"
            for r in drifted
        )
        self.stdout.write(self.style.WARNING(f"{day}: observed win rates drifted: {rows}."))
