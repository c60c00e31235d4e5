"""`role` out of every index of accounts_user, and free room on its pages, so that a change of role is a HOT update:
PostgreSQL writes the new version of the row on the same page and no index entry. A push of 50,000 roles wrote an
entry into each of the table's 14 indexes for every person (4 to 8 s, with every changed person's row held until the
COMMIT); now it writes none (about 0.5 s). docs/benchmarks.md, issue 29.

- one_owner_per_tenant keeps its name and its rule on a generated column, `is_owner` (`role = 'owner'`), which only an
  ownership change moves;
- the admins' partial index goes: a filter of the console (`/org/people/?role=admin`) now reads the tenant's people in
  order, as the other filters without an index of their own do;
- fillfactor 50: an update is HOT only if the new version fits on the row's page, and a push can change every person
  on a page. It is set first, so that the table rewrite of the generated column already leaves the room.

Reversed, fillfactor goes back to the default but the pages keep their room until the table is rewritten (VACUUM
FULL); the old index and constraint come back as they were.
"""

from django.db import migrations, models


def _fillfactor(percent: int | None):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (the development server) has no fillfactor
        table = schema_editor.quote_name("accounts_user")
        option = "RESET (fillfactor)" if percent is None else f"SET (fillfactor = {int(percent)})"
        schema_editor.execute(f"ALTER TABLE {table} {option}")

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0015_user_fewer_indexes"),
        ("tenants", "0006_roles_from_okta"),
    ]

    operations = [
        migrations.RunPython(_fillfactor(50), _fillfactor(None), elidable=False),
        migrations.RemoveConstraint(
            model_name="user",
            name="one_owner_per_tenant",
        ),
        migrations.RemoveIndex(
            model_name="user",
            name="user_tenant_role_joined",
        ),
        migrations.AddField(
            model_name="user",
            name="is_owner",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.ExpressionWrapper(models.Q(("role", "owner")), output_field=models.BooleanField()),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(condition=models.Q(("is_owner", True)), fields=("tenant",),
                                               name="one_owner_per_tenant"),
        ),
    ]
