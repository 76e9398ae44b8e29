"""The deal-history index of StageTransition becomes a covering one (see the model's Meta): on PostgreSQL
the new index is built CONCURRENTLY before the old one is dropped (CONCURRENTLY too), so writers are not
blocked while ~4 M rows are indexed and a deal's history always has an index; elsewhere the plain
operations (SQLite ignores INCLUDE)."""

from django.db import migrations, models

OLD = "pipeline_st_deal_id_accb3a_idx"
NEW = models.Index(
    fields=["deal", "occurred_at"],
    include=("id", "kind", "to_stage", "owner", "team", "stay_started_at", "stay_bucket"),
    name="transition_deal_history_idx",
)


def forwards(apps, schema_editor):
    model = apps.get_model("pipeline", "StageTransition")
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        # (a build an interrupted attempt left behind — invalid, or complete with the old index still
        # there — is dropped and redone)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(NEW.name)}")
        schema_editor.execute(NEW.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(OLD)}")
    else:
        schema_editor.add_index(model, NEW)
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(OLD)}")


def backwards(apps, schema_editor):
    model = apps.get_model("pipeline", "StageTransition")
    old = models.Index(fields=["deal", "occurred_at"], name=OLD)
    schema_editor.add_index(model, old)
    schema_editor.remove_index(model, NEW)


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("org", "0003_case_insensitive_names"),
        ("pipeline", "0008_account_names_matched_by_trailing_forms"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="stagetransition", name=OLD),
                migrations.AddIndex(model_name="stagetransition", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
