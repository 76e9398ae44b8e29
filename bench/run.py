"""``make bench``: every benchmark in bench/, one after another, against a scratch PostgreSQL database.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench .venv/bin/python bench/run.py \
        [--deals 1000000] [--regen] [--only nightly intake ...]

The database is migrated first. The nightly benchmark generates its history (bench/gen_transitions.py)
when the database holds fewer deals than ``--deals`` or with ``--regen``. Other scripts (bench/*.py not
starting with ``_``, e.g. intake.py, api_list.py) run as they are. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HELPERS = {"run", "gen_transitions"}


def run(*args: str) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def deal_count() -> int:
    code = "import _setup; from pipeline.models import Deal; print(Deal.objects.count())"
    out = subprocess.run([sys.executable, "-c", code], cwd=BENCH, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=int(os.environ.get("BENCH_DEALS", "1000000")))
    parser.add_argument("--regen", action="store_true")
    parser.add_argument("--only", nargs="*", help="Script names without .py (default: all)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("make bench needs DATABASE_URL=postgres://... pointing at a scratch database.")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    run("manage.py", "migrate", "--noinput", "-v", "0")
    scripts = sorted(p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_") and p.stem not in HELPERS)
    if args.only:
        scripts = [s for s in scripts if s in args.only]
    for name in scripts:
        if name == "nightly" and (args.regen or deal_count() < args.deals):
            run(str(BENCH / "gen_transitions.py"), "--deals", str(args.deals), "--reset")
        run(str(BENCH / f"{name}.py"))


if __name__ == "__main__":
    main()
