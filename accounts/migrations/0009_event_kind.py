from django.db import migrations, models

# The reasons as they were when kinds came in: everything else recorded before is a sign-in outcome.
SESSION = (
    "session_user_inactive", "session_tenant_inactive", "session_revoked", "universal_logout",
    "session_recheck_failed", "session_recheck_overdue", "universal_logout_unauthorized",
    "universal_logout_malformed", "universal_logout_unknown_user",
)
SETUP = ("setup_link_created", "setup_checks_failed", "setup_completed")


def classify(apps, schema_editor):
    LoginEvent = apps.get_model("accounts", "LoginEvent")
    LoginEvent.objects.filter(reason__in=SESSION).update(kind="session")
    LoginEvent.objects.filter(reason__in=SETUP).update(kind="setup")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_i16_loginevent_user_time'),
    ]

    operations = [
        migrations.AddField(
            model_name='loginevent',
            name='kind',
            field=models.CharField(choices=[('signin', 'Sign-in'), ('session', 'Session'), ('setup', 'Setup'), ('provisioning', 'Provisioning'), ('console', 'Console')], default='signin', max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(classify, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='loginevent',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['signin', 'session', 'setup', 'provisioning', 'console'])), name='loginevent_kind_known'),
        ),
        migrations.RemoveIndex(
            model_name='loginevent',
            name='loginevent_tenant_time',
        ),
        migrations.AddIndex(
            model_name='loginevent',
            index=models.Index(fields=['tenant', '-created_at'], include=('outcome', 'reason', 'kind'), name='loginevent_tenant_time'),
        ),
    ]
