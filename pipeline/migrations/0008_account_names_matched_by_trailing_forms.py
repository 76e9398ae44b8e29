"""Account matching keys recomputed: legal forms are now dropped from the end of a company name only
(``normalize_company_name``); the old rule dropped them anywhere, so "Corporation Bank" and "Bank Corp."
shared a key and leads joined the wrong account."""

from django.db import migrations

BATCH = 2000


def recompute(apps, schema_editor):
    from pipeline.services.accounts import normalize_company_name

    Account = apps.get_model("pipeline", "Account")
    changed = []
    for pk, name, key in Account.objects.order_by("pk").values_list("pk", "name", "normalized_name").iterator(BATCH):
        new = normalize_company_name(name)
        if new != key:
            changed.append(Account(pk=pk, normalized_name=new))
        if len(changed) >= BATCH:
            Account.objects.bulk_update(changed, ["normalized_name"])
            changed = []
    Account.objects.bulk_update(changed, ["normalized_name"])


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0007_lean_write_indexes")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
