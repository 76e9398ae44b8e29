"""Bulk history generator for the funnel/nightly benchmark (PostgreSQL only, a scratch database).

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/salesladder_bench \
        .venv/bin/python bench/gen_transitions.py [--deals 1000000] [--reset]

Makes 4 regions × 5 teams × 10 reps (200 reps in 20 teams; a region is a 50-rep team with sub-teams)
and ``--deals`` deals created over the last 24 months, each climbing a plausible ladder (85 % reach
contact, 70 % of those needs, 60 % proposal, 60 % negotiation, 60 % signing), with backward moves
(35 % of the deals stopping between contact and negotiation step back once and climb again), losses
(half the deals below signing) and reopenings sprinkled in: about 4.1 transitions per deal. Everything is a handful of
``INSERT … SELECT … generate_series`` statements, seeded, so the data is the same every time.
"""

from __future__ import annotations

import argparse
import time

import _setup  # noqa: F401
from django.db import connection, transaction
from django.utils import timezone

from pipeline.models import Account, Deal, StageTransition
from salesladder.org.models import Membership, Role, Team, User
from targets.models import FunnelSnapshot, NightlyRun, Quota, ScopeSnapshot
from targets.periods import Period

D = Deal._meta.db_table
T = StageTransition._meta.db_table
STAGES = "ARRAY['prep','contact','needs','proposal','negotiation','signing']"
REGIONS, TEAMS_PER_REGION, REPS_PER_TEAM = 4, 5, 10


VERBOSE = False


def _sql(sql: str, params: list | None = None) -> int:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        if VERBOSE:
            print(f"  {time.monotonic() - started:7.2f} s  {' '.join(sql.split())[:90]}")
        return cursor.rowcount


def org() -> list[Team]:
    """Regions, teams, reps (idempotent). Returns the regions."""
    regions = []
    for r in range(REGIONS):
        region, _ = Team.objects.get_or_create(name=f"Bench region {r}")
        regions.append(region)
        for t in range(TEAMS_PER_REGION):
            team, _ = Team.objects.get_or_create(name=f"Bench team {r}-{t}", defaults={"parent": region})
            for i in range(REPS_PER_TEAM):
                user, created = User.objects.get_or_create(username=f"bench-{r}-{t}-{i}")
                if created:
                    Membership.objects.create(user=user, team=team, role=Role.REP)
    return regions


def _drop_secondary_indexes(tables: list[str]) -> list[str]:
    """Drop the indexes that back no constraint (rebuilt after the load, much faster than row by row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [tables],
        )
        found = cursor.fetchall()
    for name, _definition in found:
        _sql(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def reset() -> None:
    with transaction.atomic():
        for model in (FunnelSnapshot, ScopeSnapshot, NightlyRun):
            _sql(f"TRUNCATE {model._meta.db_table}")
        _sql(f"TRUNCATE {T}, {D} CASCADE")


def generate(n_deals: int) -> dict[str, float]:
    timings = {}
    reps = list(
        Membership.objects.filter(role=Role.REP, user__username__startswith="bench-")
        .order_by("user_id")
        .values_list("user_id", "team_id")
    )
    account, _ = Account.objects.get_or_create(
        name="Bench account", defaults={"normalized_name": "bench account", "owner_id": reps[0][0]}
    )
    now = timezone.now()
    with transaction.atomic():
        _sql("SET LOCAL max_parallel_workers_per_gather = 0")
        # A scratch database and rows consistent by construction: skip the per-row foreign-key triggers
        # (needs a superuser; without it the checks run at commit, several times slower).
        try:
            with transaction.atomic():
                _sql("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001
            print("  (not a superuser: foreign keys are checked row by row)")
        _sql("SELECT setseed(0.42)")
        _sql("DROP TABLE IF EXISTS bench_reps; CREATE TEMP TABLE bench_reps (idx int, user_id bigint, team_id bigint)")
        values = ", ".join(f"({i}, {u}, {t})" for i, (u, t) in enumerate(reps))
        _sql(f"INSERT INTO bench_reps VALUES {values}")
        start = time.monotonic()
        indexes = _drop_secondary_indexes([D, T])
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {D}")
            offset = cursor.fetchone()[0]
        # One row of random draws per deal: top rung, lost?, backward?, reopened?, age, step.
        _sql(
            f"""
            DROP TABLE IF EXISTS bench_src;
            CREATE TEMP TABLE bench_src AS
            SELECT g + {offset} AS id, br.user_id AS owner_id, br.team_id AS team_id,
                   -- a young deal has not had time to climb far: at most one rung per step, and three
                   -- steps kept for losing, reopening and the last activity, so no time lies in the future
                   LEAST(CASE WHEN u1 < 0.1285 THEN 5 WHEN u1 < 0.2142 THEN 4 WHEN u1 < 0.357 THEN 3
                              WHEN u1 < 0.595 THEN 2 WHEN u1 < 0.85 THEN 1 ELSE 0 END,
                         GREATEST(0, floor(730 * 24 * u5 / (12 + floor(u6 * 60)))::int - 3)) AS top,
                   u2, u3, u4,
                   %s::timestamptz - (interval '1 day' * (730 * u5)) AS created,
                   interval '1 hour' * (12 + floor(u6 * 60)) AS step
            FROM (SELECT g, random() u1, random() u2, random() u3, random() u4, random() u5, random() u6
                  FROM generate_series(1, %s) g) r
            JOIN bench_reps br ON br.idx = r.g %% {len(reps)}""",
            [now, n_deals],
        )
        _sql("ANALYZE bench_src")
        # lost: half of the deals that stop below signing; reopened: 10 % of those; backward: 35 %.
        _sql(
            f"""
            INSERT INTO {D} (id, title, account_id, owner_id, team_id, stage, status, stage_entered_at, amount,
                currency, expected_close_date, needs_summary, signed_on, contract_amount, delivery_status,
                lost_note, closed_at, source, external_id, notes, last_activity_at, is_stale, created_at,
                updated_at)
            SELECT s.id, 'Bench deal ' || s.id, %s, s.owner_id, s.team_id, ({STAGES})[s.top + 1],
                   CASE WHEN s.top = 5 THEN 'won' WHEN s.u2 < 0.5 AND s.u4 >= 0.1 THEN 'lost' ELSE 'open' END,
                   LEAST(s.created + s.step * s.top, %s), 1000 + (s.id %% 50) * 500, 'CNY',
                   (s.created + interval '60 days')::date, '', NULL, NULL, '', '', NULL, '', '', '',
                   LEAST(s.created + s.step * (s.top + 3), %s), false, s.created,
                   LEAST(s.created + s.step * (s.top + 3), %s)
            FROM bench_src s""",
            [account.pk, now, now, now],
        )
        cols = "deal_id, kind, from_stage, to_stage, from_status, to_status, occurred_at, channel, owner_id, team_id"
        # the climb: create + one forward per rung
        _sql(
            f"""
            INSERT INTO {T} ({cols})
            SELECT s.id, CASE WHEN k = 0 THEN 'create' ELSE 'forward' END,
                   CASE WHEN k = 0 THEN '' ELSE ({STAGES})[k] END, ({STAGES})[k + 1],
                   CASE WHEN k = 0 THEN '' ELSE 'open' END, CASE WHEN k = 5 THEN 'won' ELSE 'open' END,
                   LEAST(s.created + s.step * k, %s), 'import', s.owner_id, s.team_id
            FROM bench_src s CROSS JOIN LATERAL generate_series(0, s.top) k""",
            [now],
        )
        # backward one rung and forward again (both inside the climb's last step)
        for kind, frm, to, frac in (
            ("backward", "s.top + 1", "s.top", "0.3"),
            ("forward", "s.top", "s.top + 1", "0.6"),
        ):
            _sql(
                f"""
                INSERT INTO {T} ({cols})
                SELECT s.id, '{kind}', ({STAGES})[{frm}], ({STAGES})[{to}], 'open', 'open',
                       LEAST(s.created + s.step * s.top + s.step * {frac}, %s), 'import', s.owner_id, s.team_id
                FROM bench_src s WHERE s.top BETWEEN 1 AND 4 AND s.u3 < 0.35""",
                [now],
            )
        # lost below signing, some reopened (then open in the same rung)
        _sql(
            f"""
            INSERT INTO {T} ({cols})
            SELECT s.id, 'lose', ({STAGES})[s.top + 1], ({STAGES})[s.top + 1], 'open', 'lost',
                   LEAST(s.created + s.step * (s.top + 1), %s), 'import', s.owner_id, s.team_id
            FROM bench_src s WHERE s.top < 5 AND s.u2 < 0.5""",
            [now],
        )
        _sql(
            f"""
            INSERT INTO {T} ({cols})
            SELECT s.id, 'reopen', ({STAGES})[s.top + 1], ({STAGES})[s.top + 1], 'lost', 'open',
                   LEAST(s.created + s.step * (s.top + 2), %s), 'import', s.owner_id, s.team_id
            FROM bench_src s WHERE s.top < 5 AND s.u2 < 0.5 AND s.u4 < 0.1""",
            [now],
        )
        # each move's stay and stay bucket (the nightly medians read them; the nightly job fills them for new moves)
        _sql(
            f"""
            UPDATE {T} AS x SET stay_started_at = s.arrived,
                   stay_bucket = FLOOR(LN(1 + EXTRACT(EPOCH FROM (x.occurred_at - s.arrived)) / 86400.0 * 1440) * 32)
            FROM (SELECT id, kind, LAG(occurred_at) OVER (PARTITION BY deal_id ORDER BY occurred_at, id) AS arrived
                  FROM {T} WHERE kind IN ('create', 'forward', 'backward') AND deal_id > %s) s
            WHERE x.id = s.id AND s.kind IN ('forward', 'backward') AND s.arrived IS NOT NULL""",
            [offset],
        )
        _sql(f"SELECT setval(pg_get_serial_sequence('{D}', 'id'), (SELECT MAX(id) FROM {D}))")
        _sql("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in indexes:
            _sql(definition)
    timings["insert_s"] = time.monotonic() - start  # including the deferred foreign-key checks at commit
    start = time.monotonic()
    _sql(f"VACUUM ANALYZE {D}")
    _sql(f"VACUUM ANALYZE {T}")
    timings["vacuum_analyze_s"] = time.monotonic() - start
    return timings


def quotas() -> None:
    """The default ladder for every bench rep, current and previous month."""
    ladder = {"prep": 100, "contact": 50, "needs": 20, "proposal": 10, "negotiation": 5, "signing": 3}
    current = Period.current()
    users = User.objects.filter(username__startswith="bench-").values_list("pk", flat=True)
    rows = [
        Quota(period=p.key, user_id=u, stage=s, value=v)
        for p in (current.previous(), current)
        for u in users
        for s, v in ladder.items()
    ]
    Quota.objects.bulk_create(rows, ignore_conflicts=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--reset", action="store_true", help="Empty deals, transitions and snapshots first")
    parser.add_argument("-v", "--verbose", action="store_true", help="Time every statement")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    org()
    quotas()
    if args.reset:
        reset()
    timings = generate(args.deals)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {D}")
        deals = cursor.fetchone()[0]
        cursor.execute(f"SELECT COUNT(*), MIN(occurred_at), MAX(occurred_at) FROM {T}")
        transitions, first, last = cursor.fetchone()
    print(
        f"generated {args.deals:,} deals in {timings['insert_s']:.1f} s (+ {timings['vacuum_analyze_s']:.1f} s "
        f"VACUUM ANALYZE); database now holds {deals:,} deals and {transitions:,} transitions "
        f"({transitions / max(deals, 1):.2f} per deal) from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    )


if __name__ == "__main__":
    main()
