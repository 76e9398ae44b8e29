"""Account matching keys recomputed: legal forms are now dropped from the end of a company name only
(``pipeline.services.accounts.normalize_company_name``); the old rule dropped them anywhere, so
"Corporation Bank" and "Bank Corp." shared a key and leads joined the wrong account.

The rule is frozen here as it stood when the migration was written (a migration must mean the same thing
whenever it runs, whatever the service module becomes). Not atomic: each batch of accounts is its own
short transaction, so a large table is not locked for the whole recompute; re-running it is harmless."""

import re
import unicodedata

from django.db import migrations, transaction

BATCH = 2000
LEGAL_WORDS = frozenset(
    {"inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "gmbh", "kg", "co", "corp", "corporation", "company"}
    | {"plc", "sa", "sarl", "srl", "ag", "bv", "nv", "pty"}
)
CN_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")


def matching_key(name):
    words = re.sub(r"[^\w]+", " ", unicodedata.normalize("NFKC", name).lower()).split()
    while words:
        last = words[-1]
        if (last in LEGAL_WORDS or last in CN_SUFFIXES) and len(words) > 1:
            words.pop()
            continue
        cut = next((s for s in CN_SUFFIXES if last.endswith(s) and len(last) > len(s)), None)
        if cut is None:
            break
        words[-1] = last[: -len(cut)]
    return " ".join(words)


def recompute(apps, schema_editor):
    Account = apps.get_model("pipeline", "Account")
    last_pk = 0
    while True:
        rows = list(
            Account.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", "name", "normalized_name")[:BATCH]
        )
        if not rows:
            return
        last_pk = rows[-1][0]
        changed = [
            Account(pk=pk, normalized_name=matching_key(name)) for pk, name, key in rows if matching_key(name) != key
        ]
        with transaction.atomic():
            Account.objects.bulk_update(changed, ["normalized_name"])


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("pipeline", "0007_lean_write_indexes")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop, atomic=False)]
