"""Who sees which people and teams: rep (self), manager (their teams, recursively), admin (all)."""

import pytest

from salesladder.org.models import Role
from salesladder.org.selectors import (
    is_manager,
    managed_team_ids,
    rep_team,
    team_descendant_ids,
    team_member_ids,
    teams_visible_to,
    users_visible_to,
)


def _names(qs) -> set[str]:
    return set(qs.values_list("username", flat=True))


def _teams(qs) -> set[str]:
    return set(qs.values_list("name", flat=True))


def test_a_rep_sees_only_themselves(org):
    assert _names(users_visible_to(user=org.alice)) == {"alice"}


def test_a_manager_sees_their_team_and_its_sub_teams(org):
    assert _names(users_visible_to(user=org.manager)) == {"manager", "alice", "bob", "north_manager", "nina"}


def test_a_sub_team_manager_sees_only_the_sub_team(org):
    assert _names(users_visible_to(user=org.north_manager)) == {"north_manager", "nina"}


def test_another_teams_manager_sees_none_of_them(org):
    assert _names(users_visible_to(user=org.mgr_west)) == {"mgr_west", "dave"}


def test_an_admin_sees_everyone(org):
    assert _names(users_visible_to(user=org.admin)) == {
        "admin",
        "manager",
        "north_manager",
        "mgr_west",
        "alice",
        "bob",
        "nina",
        "dave",
    }


@pytest.mark.parametrize(
    ("who", "teams"),
    [
        ("alice", {"East"}),
        ("nina", {"East North"}),
        ("manager", {"East", "East North"}),
        ("north_manager", {"East North"}),
        ("mgr_west", {"West"}),
        ("admin", {"East", "East North", "West"}),
    ],
)
def test_teams_visible_to(org, who, teams):
    assert _teams(teams_visible_to(user=getattr(org, who))) == teams


def test_team_descendants_are_recursive(org):
    # given: a third level under East North
    from tests.factories import TeamFactory

    deep = TeamFactory(name="East North Harbour", parent=org.east_north)

    # then
    assert team_descendant_ids(team_ids=[org.east.pk]) == {org.east.pk, org.east_north.pk, deep.pk}
    assert team_descendant_ids(team_ids=[org.west.pk]) == {org.west.pk}
    assert team_descendant_ids(team_ids=[]) == set()


def test_managers_are_managers_and_reps_are_not(org):
    assert is_manager(user=org.manager)
    assert is_manager(user=org.north_manager)
    assert not is_manager(user=org.alice)
    assert managed_team_ids(user=org.admin) == set()


def test_a_reps_team_is_their_rep_team_even_if_they_also_manage_one(org):
    from salesladder.org.models import Membership

    Membership.objects.create(user=org.nina, team=org.west, role=Role.MANAGER)

    assert rep_team(user=org.nina) == org.east_north
    assert rep_team(user=org.manager) == org.east  # a manager owning a deal books it on the team they run


def test_team_members_recursive_or_not(org):
    assert set(team_member_ids(team=org.east)) == {org.alice.pk, org.bob.pk, org.nina.pk}
    assert set(team_member_ids(team=org.east, recursive=False)) == {org.alice.pk, org.bob.pk}
    assert set(team_member_ids(team=org.east, role=None, recursive=False)) == {org.alice.pk, org.bob.pk, org.manager.pk}
