"""Shared fixtures.

Tests marked ``postgres``, ``celery_worker`` or ``e2e`` need real services. On a laptop without
them they are skipped with a reason; in CI (.ci/run sets SALESLADDER_REQUIRE_SERVICES=1) a missing
service fails the run instead, so CI never passes on skipped checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from salesladder.org.models import Team, User
from tests.factories import PASSWORD, TeamFactory, UserFactory, manager, rep

REQUIRE_SERVICES = os.environ.get("SALESLADDER_REQUIRE_SERVICES") == "1"


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL (set DATABASE_URL=postgres://...)")
    if request.node.get_closest_marker("celery_worker"):
        if not os.environ.get("SALESLADDER_TEST_BROKER_URL"):
            _missing("needs a Celery broker (set SALESLADDER_TEST_BROKER_URL=redis://...)")
        if connection.vendor != "postgresql":
            _missing("a real worker needs a database it can share with the test (PostgreSQL)")


# Data migrations whose idempotent ``load(apps, schema_editor)`` transactional tests re-run (see below).
DATA_MIGRATIONS = ["pipeline.migrations.0002_default_ladder", "targets.migrations.0002_default_template"]


@pytest.fixture(autouse=True)
def _default_ladder(request: pytest.FixtureRequest) -> None:
    """A transactional test flushes the database when it ends, and with it the rows the data migrations
    loaded (stage configuration, gates, lost reasons, the default quota template). Reload them at the start of
    every transactional test, so none depends on running first. Prefer this to ``serialized_rollback``,
    which fails with duplicate content types once another transactional test has flushed."""
    marker = request.node.get_closest_marker("django_db")
    if not marker or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return
    from importlib import import_module

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    for module in DATA_MIGRATIONS:
        import_module(module).load(apps, None)


def pytest_configure(config: pytest.Config) -> None:
    """A fast password hasher: tests log users in hundreds of times, and PBKDF2 costs ~0.3 s a hash."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters (API throttles, log-in attempts) and cached counts start at zero in every test:
    a browser test logging in as alice must not inherit the attempts of the tests before it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english(settings):  # type: ignore[no-untyped-def]
    """Tests read English messages unless they switch language themselves."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@dataclass
class Org:
    """The demo shape: East (manager, alice, bob) with sub-team East-North (nina), West (mgr_west, dave)."""

    east: Team
    east_north: Team
    west: Team
    manager: User
    north_manager: User
    mgr_west: User
    alice: User
    bob: User
    nina: User
    dave: User
    admin: User


@pytest.fixture
def org(db) -> Org:  # type: ignore[no-untyped-def]
    east = TeamFactory(name="East")
    east_north = TeamFactory(name="East North", parent=east)
    west = TeamFactory(name="West")
    return Org(
        east=east,
        east_north=east_north,
        west=west,
        manager=manager(east, username="manager"),
        north_manager=manager(east_north, username="north_manager"),
        mgr_west=manager(west, username="mgr_west"),
        alice=rep(east, username="alice"),
        bob=rep(east, username="bob"),
        nina=rep(east_north, username="nina"),
        dave=rep(west, username="dave"),
        admin=UserFactory(username="admin", is_superuser=True, is_staff=True),
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


@dataclass
class RealWorker:
    """A ``celery worker`` subprocess on its own queue, sharing the test database; ``client`` sends to it."""

    queue: str
    client: Any
    log_path: Path

    def send(self, name: str, *args: Any) -> Any:
        return self.client.send_task(name, args=list(args), queue=self.queue)

    def log_tail(self) -> str:
        return self.log_path.read_text()[-3000:]


def _test_database_url() -> str:
    db = connection.settings_dict
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_worker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RealWorker]:
    """Start a real Celery worker for a ``celery_worker``-marked, ``transaction=True`` test.

    Tasks go through the broker in SALESLADDER_TEST_BROKER_URL via a separate client app, so the
    project's app keeps its eager default for every other test.
    """
    from celery import Celery

    broker = os.environ["SALESLADDER_TEST_BROKER_URL"]
    queue = f"test-{request.node.name[:30]}-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true"),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "salesladder",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = Celery("salesladder-test-client", broker=broker, backend=broker)
        try:
            yield RealWorker(queue=queue, client=client, log_path=log_path)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            client.close()
