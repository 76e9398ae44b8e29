"""Lead intake throughput through the full HTTP stack (Django's test client: middleware, bearer auth,
throttling, JSON parsing, the service, PostgreSQL).

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench .venv/bin/python bench/intake.py

Posts BATCHES x 1,000 new leads (full validation, account/contact matching, round-robin owners,
intake records), then replays the same batches, which must create nothing. Prints leads/s.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesladder.settings")
# Production-like: no DEBUG query log, no SSL redirect for the in-process client.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("API_THROTTLE_TOKEN", "100000/min")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from pipeline.models import Account, Contact, Deal, IntakeRecord, StageTransition  # noqa: E402
from salesladder.org.models import Membership, Role, Team, User  # noqa: E402
from salesladder.org.services import api_token_create  # noqa: E402

BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "1000"))
REPS = 10


def setup() -> str:
    call_command("migrate", verbosity=0)
    team, _ = Team.objects.get_or_create(name="Bench team")
    for i in range(REPS):
        user, created = User.objects.get_or_create(
            username=f"bench_rep{i}", defaults={"email": f"rep{i}@bench.example"}
        )
        if created:
            Membership.objects.create(user=user, team=team, role=Role.REP)
    admin, _ = User.objects.get_or_create(username="bench_admin", defaults={"is_superuser": True, "is_staff": True})
    _token, key = api_token_create(user=admin, name="bench", scopes=["leads:write"], team=team)
    return key


def make_batches(run: str) -> list[bytes]:
    batches = []
    for b in range(BATCHES):
        leads = []
        for i in range(BATCH_SIZE):
            n = b * BATCH_SIZE + i
            company = n // 3  # three leads per company: account matching does real work
            leads.append(
                {
                    "source": f"bench-{run}",
                    "external_id": f"E{n:07d}",
                    "company": f"Bench Company {run} {company} Ltd",
                    "contact_name": f"Person {n}",
                    "email": f"person{n}@c{company}.{run}.example",
                    "phone": "+86 21 5555 0100",
                    "title": "Procurement",
                    "amount": f"{1000 + n % 5000}.00",
                    "currency": "CNY",
                    "notes": "Met at the Shanghai fair",
                }
            )
        batches.append(json.dumps({"leads": leads}).encode())
    return batches


def post_all(client: Client, key: str, batches: list[bytes], expect: str) -> float:
    started = time.perf_counter()
    for body in batches:
        response = client.post(
            "/api/v1/leads/", data=body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code not in (200, 201):
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:500]!r}")
        totals = response.json()["totals"]
        if totals[expect] != BATCH_SIZE:
            raise SystemExit(f"expected {BATCH_SIZE} {expect}, got {totals}")
    return time.perf_counter() - started


def counts() -> dict[str, int]:
    return {
        "deals": Deal.objects.count(),
        "transitions": StageTransition.objects.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "intake_records": IntakeRecord.objects.count(),
    }


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL=postgres://... (the figures are for PostgreSQL)")
    key = setup()
    run = uuid.uuid4().hex[:8]
    batches = make_batches(run)
    client = Client()
    total = BATCHES * BATCH_SIZE
    before = counts()
    elapsed = post_all(client, key, batches, "created")
    after_create = counts()
    print(f"create: {total} leads in {elapsed:.2f} s = {total / elapsed:,.0f} leads/s ({BATCHES} x {BATCH_SIZE})")
    print("  rows written:", {k: after_create[k] - before[k] for k in before})
    elapsed = post_all(client, key, batches, "unchanged")
    after_replay = counts()
    print(f"replay: {total} leads in {elapsed:.2f} s = {total / elapsed:,.0f} leads/s")
    print("  rows written:", {k: after_replay[k] - after_create[k] for k in before})


if __name__ == "__main__":
    main()
