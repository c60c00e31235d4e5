"""The "Support" group: what Inigo support staff may do in the admin, and nothing more.

They enter and fix customers' SSO settings and read users and login events; they cannot delete tenants, add or
delete users, or edit login events. Staff accounts themselves stay with superusers.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support"
SUPPORT_PERMISSIONS = [
    ("tenants", "view_tenant"),
    ("tenants", "add_tenant"),
    ("tenants", "change_tenant"),
    ("accounts", "view_user"),
    ("accounts", "change_user"),
    ("accounts", "view_loginevent"),
]


def create_support_group(apps, schema_editor):
    # Permissions are normally created after `migrate` (post_migrate); on a fresh database they do not exist yet.
    for app_label in ("tenants", "accounts"):
        create_permissions(
            global_apps.get_app_config(app_label), verbosity=0, apps=apps, using=schema_editor.connection.alias
        )
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=SUPPORT_GROUP)
    permissions = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in SUPPORT_PERMISSIONS
    ]
    group.permissions.set(permissions)


def delete_support_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPPORT_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tenants", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_support_group, delete_support_group),
    ]
