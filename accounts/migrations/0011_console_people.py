from django.db import migrations, models

# The console's `q` (/org/people/) matches part of an email or a name, case-insensitively: Django's icontains, which
# PostgreSQL runs as UPPER(column::text) LIKE UPPER('%q%'). A B-tree cannot serve a pattern with a leading %; a
# trigram index (pg_trgm) on the same expression can, once q has three characters. PostgreSQL only: SQLite scans.
TRIGRAM_COLUMNS = ("email", "name", "first_name", "last_name")


def trigram_indexes_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS user_{column}_trgm ON accounts_user USING gin (UPPER({column}) gin_trgm_ops)"
        )


def trigram_indexes_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS user_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_user_deactivated_by"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["tenant", "-date_joined", "-id"], name="user_tenant_joined"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(condition=models.Q(("role", "member"), _negated=True),
                               fields=["tenant", "role", "-date_joined"], name="user_tenant_role_joined"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(condition=models.Q(("is_active", False)), fields=["tenant", "-date_joined"],
                               name="user_tenant_inactive_joined"),
        ),
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop, elidable=False),
    ]
