"""Load SPEC §1 defaults: the six rungs' labels, probabilities and stale days, the default gates and lost reasons."""

from django.db import migrations

STAGES = [
    # code, position, English, 中文, probability %, stale days
    ("prep", 1, "Preparation (research)", "销售前期准备", 5, 14),
    ("contact", 2, "First contact", "初次接触", 10, 14),
    ("needs", 3, "Needs analysis", "需求分析", 20, 21),
    ("proposal", 4, "Proposal & quote", "提案和报价", 40, 21),
    ("negotiation", 5, "Negotiation & follow-up", "谈判和跟进", 60, 30),
    ("signing", 6, "Signing & delivery", "签约和实施", 100, None),
]

GATES = [
    # stage entered, field, rule
    ("needs", "contact", "present"),
    ("proposal", "needs_summary", "present"),
    ("proposal", "amount", "positive"),
    ("negotiation", "expected_close_date", "present"),
    ("signing", "signed_on", "present"),
    ("signing", "contract_amount", "positive"),
]

LOST_REASONS = [
    ("price", "Price too high", "价格过高"),
    ("competitor", "Chose a competitor", "选择了竞争对手"),
    ("no_budget", "No budget", "没有预算"),
    ("no_decision", "No decision / went silent", "未决策/失联"),
    ("timing", "Bad timing", "时机不对"),
    ("requirements", "Requirements not met", "需求不匹配"),
    ("other", "Other", "其他"),
]


def load(apps, schema_editor):
    StageConfig = apps.get_model("pipeline", "StageConfig")
    StageGate = apps.get_model("pipeline", "StageGate")
    LostReason = apps.get_model("pipeline", "LostReason")
    for code, position, en, zh, probability, stale in STAGES:
        StageConfig.objects.update_or_create(
            stage=code,
            defaults={"position": position, "label_en": en, "label_zh": zh, "probability": probability, "stale_days": stale},
        )
    for stage, field, rule in GATES:
        StageGate.objects.update_or_create(stage=stage, field=field, defaults={"rule": rule})
    for position, (code, en, zh) in enumerate(LOST_REASONS, start=1):
        LostReason.objects.update_or_create(code=code, defaults={"label_en": en, "label_zh": zh, "position": position})


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
