"""Benchmark: the deal list over the REST API, 50 deals a page, under gunicorn, measured with wrk.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench .venv/bin/python bench/api_list.py

Seeds N deals (default 20,000) in one team, creates a manager's ``deals:read`` token, starts gunicorn
on 127.0.0.1 as docker-compose.yml does (3 sync workers, ``WEB_CONCURRENCY``), runs wrk against
/api/v1/deals/?page_size=50 for 15 s, and prints requests/s, latency, the queries one request runs and
the CPU one request costs (gunicorn + PostgreSQL + wrk, from /proc): on a shared machine the requests/s
depend on whatever else runs, the CPU per request much less. The database is reused if already seeded.
Not part of the test run. Needs PostgreSQL and ``wrk`` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The server runs as in production (DEBUG off), on plain HTTP on loopback, with throttling out of the way.
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_LOG_LEVEL": "WARNING",
    "API_THROTTLE_TOKEN": "100000000/min",
    "API_THROTTLE_USER": "100000000/min",
}


def setup_django() -> None:
    os.environ.update(SERVER_ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesladder.settings")
    import django

    django.setup()


def seed(n: int) -> str:
    """N open deals across 10 reps of one team (bulk, with accounts and contacts); returns a token key."""
    from django.core.management import call_command
    from django.db import transaction

    from pipeline.models import Account, Contact, Deal, Stage
    from salesladder.org.models import ApiToken, Role, Team, User
    from salesladder.org.services import api_token_create, user_create

    call_command("migrate", verbosity=0)
    team = Team.objects.filter(name="Bench").first()
    if team is None:
        with transaction.atomic():
            team = Team.objects.create(name="Bench")
            user_create(username="bench_manager", team=team, role=Role.MANAGER)
            for i in range(10):
                user_create(username=f"bench_rep{i}", team=team, role=Role.REP)
    manager = User.objects.get(username="bench_manager")
    reps = list(User.objects.filter(memberships__team=team, memberships__role=Role.REP))
    existing = Deal.objects.filter(team=team).count()
    if existing < n:
        print(f"seeding {n - existing} deals…", flush=True)
        stages = [s for s in Stage.values if s != Stage.SIGNING]
        batch = 2000
        for start in range(existing, n, batch):
            size = min(batch, n - start)
            with transaction.atomic():
                accounts = Account.objects.bulk_create(
                    Account(name=f"Company {i}", normalized_name=f"company {i}", owner=reps[i % len(reps)])
                    for i in range(start, start + size)
                )
                contacts = Contact.objects.bulk_create(
                    Contact(account=a, name=f"Contact {a.name}", email=f"c{a.pk}@example.com") for a in accounts
                )
                Deal.objects.bulk_create(
                    Deal(
                        title=f"Deal {start + i}",
                        account=a,
                        contact=c,
                        owner=a.owner,
                        team=team,
                        stage=stages[(start + i) % len(stages)],
                        amount=Decimal(1000 + (start + i) % 9000),
                        source="bench",
                        external_id=f"B-{start + i}",
                    )
                    for i, (a, c) in enumerate(zip(accounts, contacts, strict=True))
                )
    ApiToken.objects.filter(user=manager, name="bench").delete()
    return api_token_create(user=manager, name="bench", scopes=["deals:read"])[1]


def queries_per_request(key: str, url: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get(url)  # the first use records last_used_at
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert len(response.json()["results"]) == 50
    return len(ctx)


def wait_for(url: str, key: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _server_pids(server_pid: int) -> tuple[list[int], list[int]]:
    """The gunicorn processes, and the PostgreSQL backends serving this database (bar our own)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    connection.close()
    return [server_pid, *_children(server_pid)], backends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    # As production runs it (docker-compose.yml: gunicorn --workers ${WEB_CONCURRENCY:-3}, sync workers).
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3)))
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--worker-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL=postgres://… (the benchmark runs on PostgreSQL).")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    setup_django()
    key = seed(args.deals)
    path = "/api/v1/deals/?page_size=50"
    queries = queries_per_request(key, path)
    from django.db import connections

    connections.close_all()

    env = {**os.environ, **SERVER_ENV}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "salesladder.wsgi",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.worker_threads),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{args.port}{path}"
    try:
        wait_for(url, key)
        # Warm both workers (connections, imports) before measuring.
        subprocess.run(
            ["wrk", "-t1", "-c4", "-d2s", "-H", f"Authorization: Bearer {key}", url],
            check=True,
            capture_output=True,
        )
        web, backends = _server_pids(server.pid)
        before = {pid: _cpu_seconds(pid) for pid in web + backends}
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [
                "wrk",
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "-H",
                f"Authorization: Bearer {key}",
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Threaded workers may open connections (backends) during the run: those count from zero.
        web_after, backends_after = _server_pids(server.pid)
        web_cpu = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in set(web) | set(web_after))
        db_cpu = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in set(backends) | set(backends_after))
        server_cpu = web_cpu + db_cpu
        wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    out = result.stdout
    print(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    # CPU per request (gunicorn + PostgreSQL + wrk): what the 2 cores can serve, even when other work shares them.
    cpu_ms = 1000 * (server_cpu + wrk_cpu) / requests
    print(
        f"deal list, 50 a page, {args.deals} deals, {args.workers} gunicorn workers, wrk -t{args.threads} "
        f"-c{args.connections} {args.duration}s: {rps:.0f} requests/s, p50 {p50}, p99 {p99}, "
        f"{queries} queries per request, non-2xx: {non_2xx.group(1) if non_2xx else 0}; CPU per request "
        f"{cpu_ms:.2f} ms (gunicorn {1000 * web_cpu / requests:.2f} + PostgreSQL {1000 * db_cpu / requests:.2f} "
        f"+ wrk {1000 * wrk_cpu / requests:.2f}), "
        f"i.e. {2000 / cpu_ms:.0f} requests/s on 2 idle cores"
    )
    if non_2xx:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
