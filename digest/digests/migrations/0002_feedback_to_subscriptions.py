"""Feedback leaves for the ``subscriptions`` app (state only; the table stays)."""

from django.db import migrations


def move_content_type(apps, schema_editor, *, backwards=False):
    """Permissions and admin log entries follow the model to its new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    old, new = ("digests", "subscriptions") if not backwards else ("subscriptions", "digests")
    content_type.objects.using(schema_editor.connection.alias).filter(
        app_label=old, model="feedback"
    ).update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('subscriptions', '0005_feedback_from_digests'),
        ('digests', '0001_initial'),
        # After the digest app's models moved here, content types included.
        ('digest', '0003_models_move_to_papers_and_digests'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='Feedback',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
