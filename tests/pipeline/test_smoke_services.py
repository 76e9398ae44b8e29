from pipeline.models import Stage, TransitionKind
from tests.factories import make_deal


def test_creating_at_proposal_records_every_rung(org):
    # when
    deal = make_deal(owner=org.alice, stage=Stage.PROPOSAL)

    # then
    history = list(deal.transitions.values_list("kind", "to_stage"))
    assert history == [
        (TransitionKind.CREATE, "prep"),
        (TransitionKind.FORWARD, "contact"),
        (TransitionKind.FORWARD, "needs"),
        (TransitionKind.FORWARD, "proposal"),
    ]
    assert {t.team_id for t in deal.transitions.all()} == {org.east.pk}
