"""Feedback (a reader's ratings) moves here from the ``digests`` app: it teaches the reader's
ranking, which the subscriptions layer owns. Same table (``digest_feedback``): state only."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('digests', '0001_initial'),
        ('papers', '0001_initial'),
        ('subscriptions', '0004_match_paper_in_papers_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Feedback',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('more', 'More like this'), ('less', 'Not relevant')], max_length=10)),
                        ('created_at', models.DateTimeField(auto_now=True)),
                        ('paper', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to='papers.paper')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'feedback',
                        'db_table': 'digest_feedback',
                        'constraints': [models.UniqueConstraint(fields=('user', 'paper'), name='feedback_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
