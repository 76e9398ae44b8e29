"""``make run`` seeds the demo only into an empty database (its own module: the demo tests share a seeded one)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pipeline.models import Deal
from salesladder.org.models import Team, User
from tests.factories import TeamFactory, rep


@pytest.mark.django_db
def test_if_empty_leaves_someone_elses_data_alone(capsys):
    # given: a database with its own people, and no demo admin
    rep(TeamFactory(name="Sales"), username="real_rep")

    call_command("seed_demo", "--if-empty")

    assert list(User.objects.values_list("username", flat=True)) == ["real_rep"]
    assert list(Team.objects.values_list("name", flat=True)) == ["Sales"]
    assert not Deal.objects.exists()
    assert "the demo is not added" in capsys.readouterr().out
