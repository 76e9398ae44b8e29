"""The shell: login/logout, role-based home and navigation, profile with API tokens, error pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from salesladder.org.models import ApiToken
from salesladder.org.services import api_token_create

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_login(client: Client):
    response = client.get("/pipeline/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/pipeline/")


def test_login_page_logs_a_rep_in_and_lands_on_my_pipeline(client: Client, org, password):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post("/accounts/login/", {"username": "alice", "password": password}, follow=True)

    assert response.redirect_chain[-1][0] == "/pipeline/"
    assert "My pipeline" in response.content.decode()


def test_wrong_password_shows_an_error(client: Client, org):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_logout_is_a_post(login, org):
    client = login(org.alice)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/pipeline/").status_code == 302


def test_manager_home_falls_back_to_the_board_until_a_dashboard_exists(login, org):
    response = login(org.manager).get("/")

    assert response.status_code == 302
    try:
        expected = reverse("dashboard")
    except Exception:  # noqa: BLE001 - the dashboard page ships with the dashboard issue
        expected = "/pipeline/"
    assert response.url == expected


def test_rep_navigation_has_no_manager_pages(login, org):
    html = login(org.alice).get("/pipeline/").content.decode()

    for label in ("My pipeline", "Deals", "Accounts", "Contacts"):
        assert f">{label}</a>" in html
    assert ">Dashboard</a>" not in html
    assert ">Targets</a>" not in html
    assert 'aria-current="page">My pipeline' in html


def test_password_change_works(login, org, password):
    client = login(org.alice)

    response = client.post(
        "/accounts/password_change/",
        {"old_password": password, "new_password1": "a-Much-Longer-pw-42", "new_password2": "a-Much-Longer-pw-42"},
        follow=True,
    )

    assert "Your password was changed." in response.content.decode()
    org.alice.refresh_from_db()
    assert org.alice.check_password("a-Much-Longer-pw-42")


def test_profile_lists_tokens_and_revokes_one(login, org):
    token, _key = api_token_create(user=org.alice, name="Scanner", scopes=["leads:write"])
    other, _ = api_token_create(user=org.bob, name="Bob's", scopes=[])
    client = login(org.alice)

    page = client.get("/profile/").content.decode()
    assert "Scanner" in page
    assert f"sl_{token.prefix}_" in page
    assert "Bob&#x27;s" not in page

    assert client.post(f"/profile/tokens/{other.pk}/revoke/").status_code == 404
    response = client.post(f"/profile/tokens/{token.pk}/revoke/", follow=True)

    assert "revoked" in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None


def test_profile_creates_a_token_and_shows_the_key_once(login, org):
    client = login(org.alice)

    response = client.post("/profile/tokens/", {"name": "Website form", "scopes": ["leads:write"]})

    html = response.content.decode()
    token = ApiToken.objects.get(user=org.alice, name="Website form")
    assert token.scopes == ["leads:write"]
    assert 'data-testid="new-key">sl_' in html
    assert 'data-testid="new-key"' not in client.get("/profile/").content.decode()


def test_profile_token_form_shows_field_errors(login, org):
    response = login(org.alice).post("/profile/tokens/", {"name": "", "scopes": ["nope"]})

    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=org.alice).exists()
    assert "This field is required." in response.content.decode()


def test_404_page_is_in_the_app_style(login, org, settings):
    settings.DEBUG = False
    response = login(org.alice).get("/deals/999999/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "SalesLadder" in html


def test_500_template_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "Something went wrong" in html
    assert "css/app.css" in html


def test_language_switch_to_chinese(login, org):
    client = login(org.alice)

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/pipeline/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/pipeline/"
    assert '<html lang="zh-hans">' in response.content.decode()
