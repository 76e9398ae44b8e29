"""The nightly report of each rung's observed win rate next to its configured probability (SPEC §1).

Its own beat task (01:30, after the snapshots): one pass over the whole history, kept out of the
snapshot run so that run stays incremental. The figures go into the day's ``NightlyRun.stats``
(``stage_win_rates``), the log (a warning per drifted rung) and the cache the dashboard and the API
read; ``run_nightly`` prints them too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any

from django.db import transaction

from targets.models import NightlyRun
from targets.selectors.outcomes import WIN_RATE_DRIFT_POINTS, stage_win_rates
from targets.selectors.scope import Scope

logger = logging.getLogger(__name__)


def stage_win_rates_report(*, run_date: date) -> dict[str, Any]:
    """Count the organisation's observed win rates afresh, log them (drift as warnings) and store them
    with ``run_date``'s nightly run when there is one. Idempotent: a second report replaces the first."""
    rates = stage_win_rates(scope=Scope.org(), fresh=True)
    drifted = [r.stage for r in rates if r.drift]
    report = {"drift_points": WIN_RATE_DRIFT_POINTS, "stages": [asdict(r) for r in rates], "drifted": drifted}
    for r in rates:
        if r.drift:
            logger.warning(
                "stage %s: observed win rate %.1f %% over %d closed deals, configured probability %d %%",
                r.stage,
                (r.observed or 0) * 100,
                r.closed_sample,
                r.configured_probability,
            )
    logger.info("observed win rates for %s: %d of %d rungs drifted", run_date, len(drifted), len(rates))
    with transaction.atomic():
        run = NightlyRun.objects.select_for_update().filter(run_date=run_date).first()
        if run is not None:
            run.stats = {**run.stats, "stage_win_rates": report}
            run.save(update_fields=["stats"])
    return report
