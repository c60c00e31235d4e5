"""Each login event gets a reference of its own, for people to quote to support; and the indexes behind support's
exact searches (email, subject, IP) and the reason filter. The tenant column loses its own index: the
(tenant, -created_at) index serves every lookup by tenant, and one index less is one write less per sign-in. That index now also covers outcome and reason, so the health
panel's and the tenants list's counts are index-only scans on PostgreSQL."""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import inigo_sso.references

BATCH = 2000


def fill_references(apps, schema_editor):
    LoginEvent = apps.get_model("accounts", "LoginEvent")
    while True:
        batch = list(LoginEvent.objects.filter(reference__isnull=True).only("pk")[:BATCH])
        if not batch:
            return
        for event in batch:
            event.reference = inigo_sso.references.new_reference()
        LoginEvent.objects.bulk_update(batch, ["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_i13_scim"),
    ]

    operations = [
        migrations.AddField(
            model_name="loginevent",
            name="reference",
            field=models.CharField(editable=False, max_length=10, null=True),
        ),
        migrations.RunPython(fill_references, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="loginevent",
            name="reference",
            field=models.CharField(default=inigo_sso.references.new_reference, editable=False, max_length=10),
        ),
        migrations.AddConstraint(
            model_name="loginevent",
            constraint=models.UniqueConstraint(fields=["reference"], name="loginevent_reference_unique"),
        ),
        migrations.AlterField(
            model_name="loginevent",
            name="tenant",
            field=models.ForeignKey(
                blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                to="tenants.tenant",
            ),
        ),
        migrations.RemoveIndex(model_name="loginevent", name="loginevent_tenant_time"),
        migrations.AddIndex(
            model_name="loginevent",
            index=models.Index(
                fields=["tenant", "-created_at"], include=["outcome", "reason"], name="loginevent_tenant_time"
            ),
        ),
        migrations.AddIndex(
            model_name="loginevent",
            index=models.Index(fields=["reason", "-created_at"], name="loginevent_reason_time"),
        ),
        migrations.AddIndex(
            model_name="loginevent",
            index=models.Index(django.db.models.functions.text.Upper("email"), name="loginevent_email_upper"),
        ),
        migrations.AddIndex(
            model_name="loginevent",
            index=models.Index(fields=["subject"], name="loginevent_subject"),
        ),
        migrations.AddIndex(
            model_name="loginevent",
            index=models.Index(fields=["ip_address"], name="loginevent_ip"),
        ),
    ]
