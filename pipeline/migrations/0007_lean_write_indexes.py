"""Fewer index entries per written row (lead intake writes a deal, a transition, a contact and sometimes
an account per lead):

- the single-column indexes of deal.owner, deal.team, stagetransition.deal, .owner and .team go: the
  composite indexes (owner, status, stage), (team, status, stage), (deal, occurred_at), (owner,
  occurred_at) and (team, occurred_at) lead with the same column and serve every look-up by it;
- account.normalized_name, account.domain and contact.email keep one plain index each and lose their
  PostgreSQL ``varchar_pattern_ops`` twin, which serves only ``LIKE 'prefix%'`` (nothing queries these
  columns that way: intake matches by equality, searches use ``icontains``).

The indexes are dropped by name (the names Django gave them); the foreign-key constraints stay as they
are (a plain ``AlterField`` would drop and re-validate them on every large table).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, column, had a varchar_pattern_ops twin on PostgreSQL)
DROPPED = [
    ("account", "normalized_name", True),
    ("account", "domain", True),
    ("contact", "email", True),
    ("deal", "owner_id", False),
    ("deal", "team_id", False),
    ("stagetransition", "deal_id", False),
    ("stagetransition", "owner_id", False),
    ("stagetransition", "team_id", False),
]


def _names(apps, schema_editor):
    for model_name, column, like in DROPPED:
        table = apps.get_model("pipeline", model_name)._meta.db_table
        yield table, column, schema_editor._create_index_name(table, [column], suffix=""), like


def drop(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for _table, _column, name, like in _names(apps, schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
        if like and postgres:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name + '_like')}")


def restore(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    q = schema_editor.quote_name
    for table, column, name, like in _names(apps, schema_editor):
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} ({q(column)})")
        if like and postgres:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {q(name + '_like')} ON {q(table)} ({q(column)} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_api_token"),
        ("pipeline", "0006_transition_stays_nightly_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The plain indexes that stay, under names of their own (created before the old ones go).
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["normalized_name"], name="account_normalized_name_idx"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["domain"], name="account_domain_idx"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["email"], name="contact_email_idx"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="account",
                    name="domain",
                    field=models.CharField(blank=True, max_length=120, verbose_name="web domain"),
                ),
                migrations.AlterField(
                    model_name="account",
                    name="normalized_name",
                    field=models.CharField(editable=False, max_length=200),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="email",
                    field=models.EmailField(blank=True, max_length=254, verbose_name="email"),
                ),
                migrations.AlterField(
                    model_name="deal",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deals",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="deal",
                    name="team",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deals",
                        to="org.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="stagetransition",
                    name="deal",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transitions",
                        to="pipeline.deal",
                    ),
                ),
                migrations.AlterField(
                    model_name="stagetransition",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner then",
                    ),
                ),
                migrations.AlterField(
                    model_name="stagetransition",
                    name="team",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.team",
                        verbose_name="team then",
                    ),
                ),
            ],
        ),
    ]
