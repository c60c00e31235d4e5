from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def classify(apps, schema_editor):
    """People switched off before this field: by Okta when provisioning's last word on them was a deactivation or
    a DELETE, else by support staff (the only other way to switch a person off)."""
    User = apps.get_model("accounts", "User")
    ProvisioningEvent = apps.get_model("scim", "ProvisioningEvent")
    last_action = ProvisioningEvent.objects.filter(user=OuterRef("pk")).order_by("-created_at").values("action")[:1]
    inactive = User.objects.filter(is_active=False, tenant__isnull=False).annotate(last_action=Subquery(last_action))
    inactive.filter(last_action__in=["user_deactivated", "user_deleted"]).update(deactivated_by="okta")
    inactive.exclude(last_action__in=["user_deactivated", "user_deleted"]).update(deactivated_by="support")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_event_kind'),
        ('scim', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='deactivated_by',
            field=models.CharField(blank=True, choices=[('okta', 'Okta (provisioning)'), ('support', 'Inigo support')], editable=False, max_length=8),
        ),
        migrations.RunPython(classify, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=Q(is_active=True, deactivated_by='') | Q(is_active=False), name='user_active_not_deactivated'),
        ),
    ]
