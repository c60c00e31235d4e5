"""Connection checks are kept: the tenant's health panel shows the last one, with its result and time."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_i14_setup"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConnectionCheckResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("checked_at", models.DateTimeField(auto_now_add=True)),
                ("ok", models.BooleanField()),
                ("summary", models.CharField(max_length=300)),
                ("findings", models.JSONField(default=list)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="connection_checks",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["-checked_at"],
                "indexes": [models.Index(fields=["tenant", "-checked_at"], name="connectioncheck_tenant_time")],
            },
        ),
    ]
