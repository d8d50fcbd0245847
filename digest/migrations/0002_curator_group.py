"""The Curator group: what a curator needs each morning and nothing more.

Curators see papers, sources, subscribers and every send; they change papers and sources,
hold or release a day's send and resend failed deliveries. They cannot change users (so no
passwords and no schedule settings), subscriptions or the outbox directly. Superusers keep
everything.

Permissions are normally created by a post_migrate signal, after every migration has run, so
on a fresh database they do not exist yet when this migration runs: it creates them first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_GROUP = "Curator"

CURATOR_PERMISSIONS = {
    "digest": [
        "view_paper",
        "change_paper",
        "view_source",
        "add_source",
        "change_source",
        "view_sighting",
        "view_digest",
        "view_digestitem",
        "view_delivery",
        "view_suppression",
        "view_deliveryhold",
        "view_feedback",
        "hold_send",
        "resend_delivery",
    ],
    "subscriptions": ["view_subscription", "view_match"],
    "accounts": ["view_user"],
}


def create_curator_group(apps, schema_editor):
    alias = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module, and create_permissions skips those.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, verbosity=0, using=alias, apps=apps)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(alias).get_or_create(name=CURATOR_GROUP)
    permissions = []
    for app_label, codenames in CURATOR_PERMISSIONS.items():
        found = list(
            Permission.objects.using(alias).filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        )
        missing = set(codenames) - {permission.codename for permission in found}
        if missing:
            # A group silently missing a right is worse than a failed migration.
            raise RuntimeError(f"Curator permissions not found: {app_label} {sorted(missing)}")
        permissions.extend(found)
    group.permissions.set(permissions)


def delete_curator_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=CURATOR_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0001_initial"),
        ("accounts", "0001_initial"),
        ("subscriptions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [("resend_delivery", "Can resend a failed delivery")],
                "verbose_name_plural": "deliveries",
            },
        ),
        migrations.AlterModelOptions(
            name="deliveryhold",
            options={
                "ordering": ["-date"],
                "permissions": [("hold_send", "Can hold and release a day's send")],
            },
        ),
        migrations.RunPython(create_curator_group, delete_curator_group),
    ]
