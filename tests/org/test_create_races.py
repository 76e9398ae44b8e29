"""Two requests creating the same user or team at once: one wins, the other gets the field error the
check would have given (the database's case-insensitive unique constraint decides), never a 500."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.services import team_create, user_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(first, second) -> Exception | None:
    """``first`` runs in a transaction held open until ``second`` (in another thread) has checked and is
    waiting on the unique index; then ``first`` commits. Returns what ``second`` raised."""
    checked = threading.Event()
    outcome: dict[str, Exception | None] = {"error": None}

    def run_second() -> None:
        try:
            checked.set()
            second()
        except Exception as exc:  # noqa: BLE001 (handed back to the test)
            outcome["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        first()
        thread = threading.Thread(target=run_second)
        thread.start()
        checked.wait(5)
        thread.join(0.5)  # it blocks on our uncommitted row
    thread.join(10)
    return outcome["error"]


def test_racing_users_with_one_name_in_two_cases():
    error = _race(lambda: user_create(username="zed"), lambda: user_create(username="ZED"))

    assert isinstance(error, DomainError)
    assert error.errors == {"username": ["A user with this username already exists."]}
    assert list(User.objects.filter(username__iexact="zed").values_list("username", flat=True)) == ["zed"]


def test_racing_teams_with_one_name():
    error = _race(lambda: team_create(name="North"), lambda: team_create(name="north"))

    assert isinstance(error, DomainError)
    assert error.errors == {"name": ["A team with this name already exists."]}
    assert Team.objects.filter(name__iexact="north").count() == 1
