"""Forgotten password: the e-mailed link lets the user choose a new one, once."""

from __future__ import annotations

import re

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    match = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_login_page_offers_a_reset(client):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()


def test_a_user_resets_a_forgotten_password(client, org):
    # when: alice asks for a link
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})

    # then: one e-mail with a link; the page says to check the mailbox
    assert response.status_code == 302
    assert 'data-testid="password-reset-done"' in client.get(response.url).content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert mail.outbox[0].subject == "SalesLadder: choose a new password"

    # the link leads to the form (Django swaps the token for a session key), a weak password is refused
    form_url = client.get(_link(mail.outbox[0])).url
    weak = client.post(form_url, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    assert "This password is too short" in weak.content.decode()
    done = client.post(form_url, {"new_password1": "Ladder-2026-rungs", "new_password2": "Ladder-2026-rungs"})
    assert done.status_code == 302

    # the new password logs in; the link does not work twice
    assert client.login(username="alice", password="Ladder-2026-rungs")
    client.logout()
    again = client.get(_link(mail.outbox[0]), follow=True).content.decode()
    assert 'data-testid="password-reset-invalid"' in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, org):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302  # the same page as for a known address: no account probing
    assert mail.outbox == []


def test_a_malformed_address_is_a_field_error(client, org):
    response = client.post("/accounts/password_reset/", {"email": "not an address"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_reset_mails_to_one_address_are_limited(client, org, settings):
    settings.PASSWORD_RESET_THROTTLE = "3/d"  # fixed windows: a day's window cannot restart mid-test
    codes = [client.post("/accounts/password_reset/", {"email": "Alice@example.com"}).status_code for _ in range(4)]

    assert codes == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
