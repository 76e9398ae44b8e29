"""Password guessing on the log-in forms is slowed down: 429 with Retry-After, the password not checked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _daily_windows(settings):
    """django-ratelimit counts in fixed windows (a per-key offset into each minute): a test running across
    the edge of a one-minute window would see its counter restart. The same limits per day keep the
    tests' counting deterministic; the production per-minute rates are what README documents."""
    settings.LOGIN_THROTTLE_USER = "5/d"
    settings.LOGIN_THROTTLE_IP = "20/d"


def _attempt(client, username: str, password: str = "wrong", url: str = "/accounts/login/", ip: str = "10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_wrong_passwords_for_one_name_then_429_even_with_the_right_one(client, org, password):
    answers = [_attempt(client, "alice").status_code for _ in range(5)]

    blocked = _attempt(client, "ALICE", password)  # the right password, the name in other case: still blocked

    assert answers == [200] * 5  # the form again, "did not match"
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert 'data-testid="login-throttled"' in blocked.content.decode()
    assert "_auth_user_id" not in client.session  # not logged in
    # another user from the same address is not locked out by alice's attempts
    assert _attempt(client, "bob", password).status_code == 302


def test_one_address_trying_many_names_is_limited(client, org, settings):
    settings.LOGIN_THROTTLE_IP = "3/d"

    codes = [_attempt(client, f"user{i}").status_code for i in range(4)]
    other_address = _attempt(client, "user9", ip="10.0.0.2")

    assert codes == [200, 200, 200, 429]
    assert other_address.status_code == 200


def test_the_admin_login_is_throttled_too(client, org):
    codes = [_attempt(client, "admin", url="/admin/login/").status_code for _ in range(6)]

    assert codes == [200] * 5 + [429]


def test_a_normal_log_in_still_works(client, org, password):
    response = _attempt(client, "alice", password)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(org.alice.pk)
