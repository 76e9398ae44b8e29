"""The admin site writes quotas and tiers through the services; snapshots and nightly runs are read-only."""

from __future__ import annotations

from datetime import date

from targets.models import FunnelSnapshot, IncentiveTier, Quota, QuotaTemplate


def test_admin_adds_a_quota_and_refuses_a_bad_period(client, org):
    client.force_login(org.admin)

    ok = client.post(
        "/admin/targets/quota/add/", {"period": "2026-w48", "user": org.alice.pk, "stage": "prep", "value": 12}
    )
    bad = client.post(
        "/admin/targets/quota/add/", {"period": "2026-13", "user": org.alice.pk, "stage": "contact", "value": 1}
    )

    assert ok.status_code == 302
    assert list(Quota.objects.values_list("period", "stage", "value")) == [("2026-W48", "prep", 12)]
    assert bad.status_code == 200
    assert "period" in bad.context["adminform"].form.errors


def test_admin_tier_and_template_rules(client, org):
    client.force_login(org.admin)

    half = client.post(
        "/admin/targets/incentivetier/add/",
        {"period": "2026-11", "measure": "signings", "threshold": "2.5", "name": "Half", "reward": ""},
    )
    whole = client.post(
        "/admin/targets/incentivetier/add/",
        {"period": "2026-11", "measure": "signings", "threshold": "3", "name": "Tier 1", "reward": "Dinner"},
    )

    assert half.status_code == 200
    assert whole.status_code == 302
    assert list(IncentiveTier.objects.values_list("name", flat=True)) == ["Tier 1"]
    default = QuotaTemplate.objects.get(is_default=True)
    assert client.get(f"/admin/targets/quotatemplate/{default.pk}/delete/").status_code == 403
    assert client.get(f"/admin/targets/quotatemplate/{default.pk}/change/").status_code == 200


def test_snapshots_are_read_only_in_admin(client, org):
    client.force_login(org.admin)
    snap = FunnelSnapshot.objects.create(
        scope_type="org", scope_id=0, period="2026-11", as_of=date(2026, 11, 2), stage="prep", entered=4
    )

    assert client.get("/admin/targets/funnelsnapshot/").status_code == 200
    assert client.get("/admin/targets/funnelsnapshot/add/").status_code == 403
    assert client.post(f"/admin/targets/funnelsnapshot/{snap.pk}/delete/", {"post": "yes"}).status_code == 403
    assert FunnelSnapshot.objects.filter(pk=snap.pk).exists()
    assert client.get("/admin/targets/nightlyrun/").status_code == 200
