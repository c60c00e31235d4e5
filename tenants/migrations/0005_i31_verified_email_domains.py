"""Email domains, verified (issue 31): each domain of a tenant has a state, a DNS token and who added it.

Every domain that exists today was entered by support staff (Tenant.email_domains), who vouch for it: it becomes
`verified` and `entered_by_staff`, so /login/ routes exactly as before. Each gets a token of its own."""

import secrets

import django.utils.timezone
from django.db import migrations, models

import tenants.models


def tokens_and_times(apps, schema_editor):
    TenantEmailDomain = apps.get_model("tenants", "TenantEmailDomain")
    now = django.utils.timezone.now()
    for claim in TenantEmailDomain.objects.all().only("pk"):
        TenantEmailDomain.objects.filter(pk=claim.pk).update(
            token=secrets.token_urlsafe(24), verified_at=now, created_at=now,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_i15_connection_check_results"),
    ]

    operations = [
        # Existing rows first get the values of a staff-entered domain, then the defaults of a new one.
        migrations.AddField(
            model_name="tenantemaildomain",
            name="state",
            field=models.CharField(choices=[("pending", "Pending"), ("verified", "Verified")], default="verified",
                                   max_length=10),
        ),
        migrations.AlterField(
            model_name="tenantemaildomain",
            name="state",
            field=models.CharField(choices=[("pending", "Pending"), ("verified", "Verified")], default="pending",
                                   max_length=10),
        ),
        migrations.AddField(
            model_name="tenantemaildomain",
            name="entered_by_staff",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.AlterField(
            model_name="tenantemaildomain",
            name="entered_by_staff",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="tenantemaildomain",
            name="token",
            field=models.CharField(default=tenants.models.new_domain_token, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="tenantemaildomain",
            name="added_by",
            field=models.CharField(blank=True, default="support staff", max_length=254,
                                   help_text="The person, support account or command."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="tenantemaildomain",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="tenantemaildomain",
            name="verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(tokens_and_times, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tenantemaildomain",
            name="domain",
            field=models.CharField(help_text="IDNA A-label, lower case (xn--bcher-kva.example).", max_length=253),
        ),
        migrations.AlterModelOptions(
            name="tenantemaildomain",
            options={"ordering": ["domain"], "verbose_name": "email domain"},
        ),
        migrations.AddConstraint(
            model_name="tenantemaildomain",
            constraint=models.UniqueConstraint(condition=models.Q(("state", "verified")), fields=("domain",),
                                               name="emaildomain_verified_unique"),
        ),
        migrations.AddConstraint(
            model_name="tenantemaildomain",
            constraint=models.UniqueConstraint(fields=("tenant", "domain"), name="emaildomain_tenant_domain_unique"),
        ),
        migrations.AlterField(
            model_name="tenant",
            name="email_domains",
            field=models.TextField(blank=True, help_text="Work email domains that sign in through this tenant from "
                                   "the login page, comma-separated. Verified at once: you vouch for them. Domains "
                                   "the customer adds on /org/domains/ are not listed here."),
        ),
        migrations.AddConstraint(
            model_name="tenantemaildomain",
            constraint=models.CheckConstraint(condition=models.Q(("state__in", ["pending", "verified"])),
                                              name="emaildomain_state_known"),
        ),
    ]
