"""The models leave the ``digest`` app for ``papers`` and ``digests`` (state only: the tables
stay). Their content types move with them, so permissions (the Curator group's included),
admin log entries and anything else keyed by content type keep pointing at the same rows."""

from django.db import migrations

MOVED = {
    "papers": ["source", "paper", "sighting"],
    "digests": ["digest", "digestitem", "delivery", "suppression", "deliveryhold", "feedback"],
}


def move_content_types(apps, schema_editor, *, backwards=False):
    content_type = apps.get_model("contenttypes", "ContentType")
    alias = schema_editor.connection.alias
    for label, models in MOVED.items():
        old, new = ("digest", label) if not backwards else (label, "digest")
        content_type.objects.using(alias).filter(app_label=old, model__in=models).update(
            app_label=new
        )


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('digests', '0001_initial'),
        ('digest', '0002_curator_group'),
        ('subscriptions', '0004_match_paper_in_papers_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='delivery',
                    name='digest',
                ),
                migrations.RemoveField(
                    model_name='deliveryhold',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='digest',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='digestitem',
                    name='digest',
                ),
                migrations.RemoveField(
                    model_name='digestitem',
                    name='paper',
                ),
                migrations.RemoveField(
                    model_name='digestitem',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='feedback',
                    name='paper',
                ),
                migrations.RemoveField(
                    model_name='feedback',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='paper',
                    name='sources',
                ),
                migrations.RemoveField(
                    model_name='sighting',
                    name='paper',
                ),
                migrations.RemoveField(
                    model_name='sighting',
                    name='source',
                ),
                migrations.DeleteModel(
                    name='Suppression',
                ),
                migrations.DeleteModel(
                    name='Delivery',
                ),
                migrations.DeleteModel(
                    name='DeliveryHold',
                ),
                migrations.DeleteModel(
                    name='Digest',
                ),
                migrations.DeleteModel(
                    name='DigestItem',
                ),
                migrations.DeleteModel(
                    name='Feedback',
                ),
                migrations.DeleteModel(
                    name='Paper',
                ),
                migrations.DeleteModel(
                    name='Sighting',
                ),
                migrations.DeleteModel(
                    name='Source',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
