"""Each login event gets a reference of its own, for people to quote to support; and the indexes behind support's
exact searches (email, subject, IP) and the reason filter."""

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
        ("accounts", "0002_support_group"),
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
            field=models.CharField(
                default=inigo_sso.references.new_reference, editable=False, max_length=10, unique=True
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
