"""Lead intake throughput through the full HTTP stack (Django's test client: middleware, bearer auth,
throttling, JSON parsing, the service, PostgreSQL).

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench .venv/bin/python bench/intake.py

Posts BATCHES x 1,000 new leads (full validation, account/contact matching, round-robin owners,
intake records), then replays the same batches, which must create nothing. Prints leads/s by the wall
clock and per CPU-second (this process + its PostgreSQL backend, read from /proc), which stays
meaningful when other jobs load the machine.
"""

from __future__ import annotations

import json
import os
import sys
import threading
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
# Parallel clients (threads, one connection each); 2 matches a 2-core server running 2 workers.
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1"))
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


def backend_cpu_seconds() -> float:
    """CPU time used so far by this connection's PostgreSQL backend (Linux /proc; 0 when not readable)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post_all(client: Client, key: str, batches: list[bytes], expect: str) -> tuple[float, float, float]:
    """Post every batch; returns (wall seconds, app CPU seconds, PostgreSQL backend CPU seconds)."""
    pg_before = backend_cpu_seconds()
    cpu_before = time.process_time()
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
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu_before, backend_cpu_seconds() - pg_before


def post_parallel(key: str, batches: list[bytes], expect: str) -> tuple[float, float, float]:
    """BENCH_CLIENTS threads, each with its own client and database connection, share the batches."""
    if CLIENTS == 1:
        return post_all(Client(), key, batches, expect)
    pg_cpu = [0.0] * CLIENTS
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            pg_cpu[i] = post_all(Client(), key, batches[i::CLIENTS], expect)[2]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    cpu_before = time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"worker failed: {errors[0]!r}")
    return time.perf_counter() - started, time.process_time() - cpu_before, sum(pg_cpu)


def report(label: str, total: int, figures: tuple[float, float, float]) -> None:
    wall, app_cpu, pg_cpu = figures
    print(
        f"{label}: {total} leads in {wall:.2f} s = {total / wall:,.0f} leads/s wall "
        f"| CPU: app {app_cpu:.2f} s + PostgreSQL {pg_cpu:.2f} s"
        f" = {total / (app_cpu + pg_cpu):,.0f} leads per CPU-second"
    )


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
    total = BATCHES * BATCH_SIZE
    before = counts()
    print(f"{BATCHES} batches x {BATCH_SIZE} leads, {CLIENTS} client(s); load average before: {os.getloadavg()[0]:.1f}")
    figures = post_parallel(key, batches, "created")
    after_create = counts()
    report("create", total, figures)
    print("  rows written:", {k: after_create[k] - before[k] for k in before})
    figures = post_parallel(key, batches, "unchanged")
    after_replay = counts()
    report("replay", total, figures)
    print("  rows written:", {k: after_replay[k] - after_create[k] for k in before})


if __name__ == "__main__":
    main()
