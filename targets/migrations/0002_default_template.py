"""The default ladder template from the source document: 100 / 50 / 20 / 10 / 5 / 3 a rep a month."""

from django.db import migrations

DEFAULT = [("prep", 100), ("contact", 50), ("needs", 20), ("proposal", 10), ("negotiation", 5), ("signing", 3)]


def load(apps, schema_editor):
    QuotaTemplate = apps.get_model("targets", "QuotaTemplate")
    QuotaTemplateLine = apps.get_model("targets", "QuotaTemplateLine")
    template, _ = QuotaTemplate.objects.get_or_create(
        name="Default ladder (100/50/20/10/5/3)", defaults={"period_kind": "month", "is_default": True}
    )
    for stage, value in DEFAULT:
        QuotaTemplateLine.objects.update_or_create(template=template, stage=stage, defaults={"value": value})


class Migration(migrations.Migration):
    dependencies = [("targets", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
