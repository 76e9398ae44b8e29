"""``manage.py seed_demo``: the deterministic demo organisation of SPEC §10.

Creates the superuser ``admin``; team East managed by ``manager`` with reps ``alice``, ``bob`` and
``carol``; team West managed by ``mgr_west`` with rep ``dave`` (password ``demo12345`` for all, demo
only), and about seven months of deals, moves, losses and activities written through the pipeline
services, back-dated with their ``at=`` parameter. The same ``--seed`` and ``--anchor`` always give
the same data; the anchor defaults to today in the organisation's time zone.

Extension hooks: after the pipeline data, in the same transaction, ``targets.demo.seed_demo_targets(anchor=...)``
and ``reviews.demo.seed_demo_reviews(anchor=...)`` are called when those modules exist, so the apps
above the pipeline add their own demo data (quotas, tiers, reviews) without the pipeline knowing them.

``--if-empty`` does nothing when the database already has users or teams (``make run`` uses it).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from salesladder.demo.services import DEFAULT_SEED, demo_exists, seed_demo
from salesladder.errors import DomainError
from salesladder.org.models import Team, User


class Command(BaseCommand):
    help = "Create the demo organisation (users, teams, months of deals and activities)."
    requires_system_checks: list[str] = []  # data only: `make run` runs the checks when it serves

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database already has users or teams."
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed (default: %(default)s).")
        parser.add_argument(
            "--anchor",
            type=date.fromisoformat,
            default=None,
            help="History ends the day before this date, YYYY-MM-DD (default: today in the organisation's time zone).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            if options["if_empty"]:
                self.stdout.write("Demo data already present (user 'admin' exists); nothing to do.")
                return
            raise CommandError("The user 'admin' already exists; use a fresh database or --if-empty.")
        if options["if_empty"] and (User.objects.exists() or Team.objects.exists()):
            # someone's own data (no demo admin): never mix the demo into it
            self.stdout.write("The database already has users or teams; the demo is not added.")
            return
        anchor = options["anchor"] or timezone.localdate()
        started = time.monotonic()
        try:
            summary = seed_demo(anchor=anchor, seed=options["seed"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organisation created in {elapsed:.1f} s (history up to {summary.anchor}): "
                f"{summary.users} users, {summary.teams} teams, {summary.accounts} accounts, {summary.deals} deals "
                f"({summary.open} open, {summary.won} won, {summary.lost} lost, {summary.stale} stale), "
                f"{summary.activities} activities, {summary.transitions} stage transitions."
            )
        )
        for hook in summary.hooks:
            self.stdout.write(f"  + {hook}")
        self.stdout.write("Log in as admin, manager, mgr_west, alice, bob, carol or dave with password demo12345.")
