"""Source, Paper and Sighting move here from the ``digest`` app. The tables exist already
(``digest`` 0001 created them and keeps their names), so this only tells Django's state."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('digest', '0002_curator_group'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Paper',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=500, unique=True)),
                        ('arxiv_id', models.CharField(blank=True, max_length=50, null=True, unique=True)),
                        ('arxiv_version', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('doi', models.CharField(blank=True, max_length=200)),
                        ('title', models.TextField()),
                        ('abstract', models.TextField(blank=True)),
                        ('authors', models.JSONField(blank=True, default=list, help_text='Names, in byline order.')),
                        ('categories', models.JSONField(blank=True, default=list)),
                        ('primary_category', models.CharField(blank=True, db_index=True, max_length=50)),
                        ('comment', models.TextField(blank=True)),
                        ('journal_ref', models.TextField(blank=True)),
                        ('published_at', models.DateTimeField(blank=True, help_text='First version.', null=True)),
                        ('updated_at', models.DateTimeField(blank=True, help_text='This version.', null=True)),
                        ('announced_on', models.DateField(blank=True, db_index=True, null=True)),
                        ('announce_type', models.CharField(blank=True, max_length=20)),
                        ('abs_url', models.URLField(blank=True, max_length=1000)),
                        ('pdf_url', models.URLField(blank=True, max_length=1000)),
                        ('code_url', models.URLField(blank=True, max_length=1000)),
                        ('hf_url', models.URLField(blank=True, max_length=1000)),
                        ('upvotes', models.PositiveIntegerField(default=0)),
                        ('featured', models.BooleanField(db_index=True, default=False)),
                        ('featured_everywhere', models.BooleanField(default=False, help_text='Put it in every digest, not only the ones it matches.')),
                        ('hidden', models.BooleanField(db_index=True, default=False, help_text='Never sent or shown.')),
                        ('curator_note', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('modified_at', models.DateTimeField(auto_now=True)),
                        ('matched_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                    ],
                    options={
                        'db_table': 'digest_paper',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Source',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('kind', models.CharField(choices=[('arxiv_api', 'arXiv API (Atom)'), ('arxiv_feed', 'arXiv RSS/Atom listing'), ('hf_daily', 'Hugging Face daily papers'), ('feed', 'Any RSS/Atom feed')], max_length=20)),
                        ('url', models.URLField(max_length=1000)),
                        ('enabled', models.BooleanField(default=True)),
                        ('last_fetched_at', models.DateTimeField(blank=True, null=True)),
                        ('last_status', models.CharField(choices=[('never', 'Never fetched'), ('ok', 'OK'), ('not_modified', 'Not modified'), ('partial', 'Partly ingested'), ('error', 'Error')], default='never', max_length=20)),
                        ('last_error', models.TextField(blank=True)),
                        ('last_count', models.PositiveIntegerField(default=0, help_text='Papers in the last fetch.')),
                        ('etag', models.CharField(blank=True, max_length=500)),
                        ('last_modified', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'digest_source',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Sighting',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('announce_type', models.CharField(blank=True, max_length=20)),
                        ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('paper', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='papers.paper')),
                        ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='papers.source')),
                    ],
                    options={
                        'db_table': 'digest_sighting',
                    },
                ),
                migrations.AddField(
                    model_name='paper',
                    name='sources',
                    field=models.ManyToManyField(related_name='papers', through='papers.Sighting', to='papers.source'),
                ),
                migrations.AddConstraint(
                    model_name='sighting',
                    constraint=models.UniqueConstraint(fields=('source', 'paper'), name='sighting_once'),
                ),
            ],
            database_operations=[],
        ),
    ]
