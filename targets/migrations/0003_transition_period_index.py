"""An index on pipeline_stagetransition for the period scans of the funnel services and the nightly job
(exits, losses and wins in a period; every other period index is partial or leads with owner/team).

It lives here because only targets reads transitions this way; on PostgreSQL it covers the columns
those queries read, so they are index-only scans. Plain SQL keeps the pipeline app's model state alone.
"""

from django.db import migrations

NAME = "targets_transition_period_idx"


def create(apps, schema_editor):
    table = apps.get_model("pipeline", "StageTransition")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON {table} (occurred_at) "
            "INCLUDE (kind, from_stage, to_stage, deal_id, owner_id, team_id)"
        )
    else:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON {table} (occurred_at)")


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("targets", "0002_default_template"), ("pipeline", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
