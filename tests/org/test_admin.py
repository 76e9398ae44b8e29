"""The team admin keeps the team tree a tree: a loop would widen two managers' scopes at once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesladder.org.models import Team
from salesladder.org.selectors import team_descendant_ids


@pytest.fixture
def admin_client(client, org, password):
    client.login(username="admin", password=password)
    return client


def _change(admin_client, team: Team, parent: Team | None):
    url = reverse("admin:org_team_change", args=[team.pk])
    data = {
        "name": team.name,
        "parent": parent.pk if parent else "",
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000",
    }
    return admin_client.post(url, data)


def test_a_team_cannot_be_put_under_its_own_sub_team(admin_client, org):
    # when: East (parent of East North) is put under East North
    response = _change(admin_client, org.east, org.east_north)

    # then: the form says why and nothing changed
    assert response.status_code == 200
    assert "cannot be placed under itself or one of its sub-teams" in response.content.decode()
    org.east.refresh_from_db()
    assert org.east.parent_id is None


def test_a_team_cannot_be_its_own_parent(admin_client, org):
    response = _change(admin_client, org.west, org.west)

    assert response.status_code == 200
    org.west.refresh_from_db()
    assert org.west.parent_id is None


def test_a_loop_through_two_top_level_teams_is_refused_and_scopes_stay_apart(admin_client, org, client):
    # given: West is placed under East (allowed: no loop)
    assert _change(admin_client, org.west, org.east).status_code == 302

    # when: East is then placed under West
    response = _change(admin_client, org.east, org.west)

    # then: refused; West's manager still does not reach East's team
    assert response.status_code == 200
    org.east.refresh_from_db()
    assert org.east.parent_id is None
    assert org.east.pk not in team_descendant_ids(team_ids=[org.west.pk])


def test_moving_a_team_elsewhere_still_works(admin_client, org):
    response = _change(admin_client, org.east_north, org.west)

    assert response.status_code == 302
    org.east_north.refresh_from_db()
    assert org.east_north.parent_id == org.west.pk
