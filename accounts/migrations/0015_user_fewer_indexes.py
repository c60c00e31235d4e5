"""Fewer indexes on accounts_user, each of which every change of a person writes (a non-HOT update: `role` is
indexed), so a push of 50,000 roles writes 50,000 entries into each: the two on `email` (no query uses them: every
lookup by email ignores case), the LIKE index on `scim_id` (the unique one serves `scim_id =`), and the foreign key's
own index on `tenant_id` (every index of a tenant's people begins with it)."""

import django.db.models.deletion
from django.db import migrations, models

import accounts.models

# Django's AlterField of the foreign key would drop every index on `tenant_id` alone, the partial unique index
# one_owner_per_tenant with it, and rebuild the foreign key: only the index goes, by its name (the same on every
# database Django created it on).
TENANT_INDEX = "accounts_user_tenant_id_1906c0a8"


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0014_user_scim_roles"),
        ("tenants", "0006_roles_from_okta"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="email address"),
        ),
        migrations.AlterField(
            model_name="user",
            name="scim_id",
            field=models.CharField(default=accounts.models.new_scim_id, editable=False, max_length=36,
                                   verbose_name="SCIM id"),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(fields=("scim_id",), name="user_scim_id_unique"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="user",
                    name="tenant",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.CASCADE, related_name="users",
                                            to="tenants.tenant"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{TENANT_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{TENANT_INDEX}" ON "accounts_user" ("tenant_id")',
                ),
            ],
        ),
    ]
