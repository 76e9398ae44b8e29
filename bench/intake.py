"""Lead intake throughput end to end: HTTP to gunicorn (as docker-compose runs it), bearer auth, throttling,
JSON parsing, the service, PostgreSQL.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench .venv/bin/python bench/intake.py

Posts BATCHES x 1,000 new leads (full validation, account/contact matching, round-robin owners,
intake records), then replays the same batches, which must create nothing. Prints leads/s by the wall
clock and per CPU-second (server processes + their PostgreSQL backends + the load generator, read from
/proc), which stays meaningful when other jobs load the machine.

``BENCH_CLIENTS`` clients (default 1) are separate processes posting pre-serialised bodies with
``http.client`` to gunicorn's sync workers (``WEB_CONCURRENCY``, default 3 as in docker-compose.yml), so
neither the clients nor the workers share an interpreter lock. ``BENCH_SERVER=inprocess`` runs the old way
instead: Django's test client in this process (one thread per client, one interpreter lock for all),
handy for profiling the server code without HTTP.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

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
# Parallel clients (processes, or threads in-process; one connection each); 2 matches a 2-core server.
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1"))
SERVER = os.environ.get("BENCH_SERVER", "gunicorn")  # or "inprocess"
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "3"))
PORT = int(os.environ.get("BENCH_PORT", "8766"))
ROOT = Path(__file__).resolve().parent.parent
REPS = 10
# The server runs as in production (DEBUG off) on plain HTTP on loopback, with throttling out of the way.
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_LOG_LEVEL": "WARNING",
    "API_THROTTLE_TOKEN": "100000/min",
    "API_THROTTLE_USER": "100000/min",
}


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (Linux /proc; 0 when gone or not readable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds() -> float:
    """CPU time used so far by this connection's PostgreSQL backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return _cpu_seconds(pid)


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


# --- over HTTP: gunicorn, and clients in processes of their own ---------------------------------


def _client(key: str, bodies: list[bytes], expect: str, go: Any, failures: Any) -> None:
    """One load-generating process: posts its bodies one after another (keep-alive when the server allows it)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
    go.wait()
    try:
        for body in bodies:
            conn.request("POST", "/api/v1/leads/", body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            if response.status not in (200, 201):
                failures.put(f"HTTP {response.status}: {content[:500]!r}")
                return
            totals = json.loads(content)["totals"]
            if expect and totals[expect] != totals["received"]:
                failures.put(f"expected {totals['received']} {expect}, got {totals}")
                return
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        failures.put(repr(exc))
    finally:
        conn.close()


def _run_clients(key: str, batches: list[list[bytes]], expect: str) -> None:
    ctx = multiprocessing.get_context("fork")
    go, failures = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(key, bodies, expect, go, failures)) for bodies in batches]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join()
    if not failures.empty():
        raise SystemExit(f"client failed: {failures.get()}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _server_pids(server: subprocess.Popen[bytes]) -> tuple[list[int], list[int]]:
    """The gunicorn processes, and the PostgreSQL backends of this database (bar this process's own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return [server.pid, *_children(server.pid)], backends


def start_server(key: str) -> subprocess.Popen[bytes]:
    connection.close()  # the clients are forked: they must not share this connection
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "salesladder.wsgi",
            "--workers",
            str(WORKERS),
            "--timeout",
            "120",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.3)
    # Warm every worker (imports, database connection, caches) with a few small batches of throw-away leads.
    warm = uuid.uuid4().hex[:8]
    bodies = [
        json.dumps(
            {
                "leads": [
                    {"source": f"bench-warm-{warm}", "external_id": f"W{w}-{i}", "company": "Warm-up Ltd"}
                    for i in range(10)
                ]
            }
        ).encode()
        for w in range(3 * WORKERS)
    ]
    _run_clients(key, [[body] for body in bodies], "")
    return server


def post_http(server: subprocess.Popen[bytes], key: str, batches: list[bytes], expect: str) -> tuple[float, ...]:
    """Post every batch from CLIENTS processes; returns (wall, server CPU, PostgreSQL CPU, clients' CPU)."""
    web, backends = _server_pids(server)
    connection.close()
    before = {pid: _cpu_seconds(pid) for pid in web + backends}
    clients_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    _run_clients(key, [batches[i::CLIENTS] for i in range(CLIENTS)], expect)
    wall = time.perf_counter() - started
    clients_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    web_after, backends_after = _server_pids(server)
    web_cpu = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in set(web) | set(web_after))
    db_cpu = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in set(backends) | set(backends_after))
    clients_cpu = (clients_after.ru_utime + clients_after.ru_stime) - (
        clients_before.ru_utime + clients_before.ru_stime
    )
    return wall, web_cpu, db_cpu, clients_cpu


def report(label: str, total: int, figures: tuple[float, ...]) -> None:
    wall, app_cpu, pg_cpu, *clients = figures
    load = f" + clients {clients[0]:.2f} s" if clients else ""
    print(
        f"{label}: {total} leads in {wall:.2f} s = {total / wall:,.0f} leads/s wall "
        f"| CPU: app {app_cpu:.2f} s + PostgreSQL {pg_cpu:.2f} s{load}"
        f" = {total / (app_cpu + pg_cpu + sum(clients)):,.0f} leads per CPU-second"
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
    server = start_server(key) if SERVER == "gunicorn" else None
    try:
        before = counts()
        where = f"gunicorn, {WORKERS} sync workers" if server else "in-process test client"
        print(
            f"{BATCHES} batches x {BATCH_SIZE} leads, {CLIENTS} client(s), {where}; "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        for label, expect in (("create", "created"), ("replay", "unchanged")):
            if server:
                figures = post_http(server, key, batches, expect)
            else:
                figures = post_parallel(key, batches, expect)
            after = counts()
            report(label, total, figures)
            print("  rows written:", {k: after[k] - before[k] for k in before})
            before = after
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
