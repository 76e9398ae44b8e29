"""Teams, users and memberships: names are unique, the tree has no cycles, reps belong to one team."""

import pytest

from salesladder.errors import DomainError
from salesladder.org.models import Membership, Role, Team, User
from salesladder.org.selectors import users_visible_to
from salesladder.org.services import membership_set, team_create, team_update, user_create
from tests.factories import make_deal


def test_team_create_with_a_parent(org):
    team = team_create(name="East South", parent=org.east)

    assert Team.objects.get(pk=team.pk).parent == org.east


@pytest.mark.parametrize("name", ["East", "east", "EAST"])
def test_duplicate_team_names_are_refused(org, name):
    with pytest.raises(DomainError) as exc:
        team_create(name=name)

    assert list(exc.value.errors) == ["name"]
    assert Team.objects.filter(name__iexact="east").count() == 1


def test_renaming_to_an_existing_name_is_refused(org):
    with pytest.raises(DomainError) as exc:
        team_update(team=org.west, name="East")

    assert list(exc.value.errors) == ["name"]
    assert Team.objects.get(pk=org.west.pk).name == "West"


def test_renaming_keeps_the_team(org):
    team_update(team=org.west, name="West China")

    assert Team.objects.get(pk=org.west.pk).name == "West China"


@pytest.mark.parametrize("new_parent", ["east", "east_north"])
def test_a_team_cannot_be_placed_under_itself_or_a_sub_team(org, new_parent):
    # when: East under East, or East under its own sub-team East North
    with pytest.raises(DomainError) as exc:
        team_update(team=org.east, parent=getattr(org, new_parent))

    # then
    assert list(exc.value.errors) == ["parent"]
    assert Team.objects.get(pk=org.east.pk).parent is None


def test_moving_a_team_under_another_and_back_to_top_level(org):
    team_update(team=org.west, parent=org.east)
    assert Team.objects.get(pk=org.west.pk).parent == org.east
    assert "dave" in set(users_visible_to(user=User.objects.get(pk=org.manager.pk)).values_list("username", flat=True))

    team_update(team=org.west, parent=None)
    assert Team.objects.get(pk=org.west.pk).parent is None


def test_a_rep_moving_teams_leaves_the_old_team(org):
    # given: alice has a deal in East
    old_deal = make_deal(owner=org.alice)

    # when
    membership_set(user=org.alice, team=org.west, role=Role.REP)

    # then
    assert list(Membership.objects.filter(user=org.alice).values_list("team__name", "role")) == [("West", "rep")]
    assert "alice" in set(users_visible_to(user=org.mgr_west).values_list("username", flat=True))
    assert "alice" not in set(
        users_visible_to(user=User.objects.get(pk=org.manager.pk)).values_list("username", flat=True)
    )
    new_deal = make_deal(owner=org.alice)
    assert new_deal.team == org.west
    assert Team.objects.get(deals=old_deal) == org.east  # history stays where it was earned


def test_membership_set_refreshes_the_scoping_cache_on_the_user(org):
    assert "dave" not in set(users_visible_to(user=org.manager).values_list("username", flat=True))

    membership_set(user=org.manager, team=org.west, role=Role.MANAGER)

    assert "dave" in set(users_visible_to(user=org.manager).values_list("username", flat=True))


def test_a_manager_can_run_several_teams(org):
    membership_set(user=org.mgr_west, team=org.east_north, role=Role.MANAGER)

    assert set(Membership.objects.filter(user=org.mgr_west).values_list("team__name", flat=True)) == {
        "West",
        "East North",
    }


def test_user_create_with_team_and_role(org):
    user = user_create(username="erin", email="erin@example.com", password="s3cret-pass!", team=org.west, role="rep")

    assert user.check_password("s3cret-pass!")
    assert list(user.memberships.values_list("team__name", "role")) == [("West", "rep")]
    assert not user.is_superuser


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "ALICE"}, "username"),
        ({"username": "erin", "email": "Alice@Example.com"}, "email"),
        ({"username": "erin", "role": "rep"}, "team"),
    ],
)
def test_user_create_refuses_duplicates_and_a_role_without_a_team(org, kwargs, field):
    with pytest.raises(DomainError) as exc:
        user_create(**kwargs)

    assert field in exc.value.errors
    assert not User.objects.filter(username="erin").exists()


def test_a_user_without_a_password_cannot_log_in(org):
    user = user_create(username="erin")

    assert not user.has_usable_password()
