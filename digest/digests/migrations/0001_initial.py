"""Digest, DigestItem, Delivery, Suppression, DeliveryHold and Feedback move here from the
``digest`` app. The tables exist already and keep their names: state only."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('digest', '0002_curator_group'),
        ('papers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Suppression',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(max_length=254, unique=True)),
                        ('reason', models.CharField(choices=[('bounce', 'Hard bounce'), ('complaint', 'Spam complaint'), ('rejected', 'Rejected by the mail server'), ('manual', 'Suppressed by an operator')], max_length=20)),
                        ('detail', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'digest_suppression',
                    },
                ),
                migrations.CreateModel(
                    name='DeliveryHold',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField(unique=True)),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'digest_deliveryhold',
                        'ordering': ['-date'],
                        'permissions': [('hold_send', "Can hold and release a day's send")],
                    },
                ),
                migrations.CreateModel(
                    name='Digest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField(help_text="The subscriber's local date the digest is for.")),
                        ('period_start', models.DateTimeField()),
                        ('period_end', models.DateTimeField()),
                        ('papers_total', models.PositiveIntegerField(default=0, help_text='Papers that matched, including those over the per-digest cap.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='digests', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'digest_digest',
                        'ordering': ['-date', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('to_email', models.EmailField(max_length=254)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('retrying', 'Retrying'), ('sent', 'Sent'), ('failed', 'Failed'), ('suppressed', 'Suppressed'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=12)),
                        ('message_id', models.CharField(blank=True, db_index=True, max_length=255)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('next_attempt_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('claimed_by', models.CharField(blank=True, max_length=200)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('digest', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='delivery', to='digests.digest')),
                    ],
                    options={
                        'verbose_name_plural': 'deliveries',
                        'db_table': 'digest_delivery',
                        'ordering': ['-created_at', '-id'],
                        'permissions': [('resend_delivery', 'Can resend a failed delivery')],
                    },
                ),
                migrations.CreateModel(
                    name='DigestItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('rank', models.PositiveIntegerField()),
                        ('section', models.CharField(choices=[('featured', 'Featured'), ('matched', 'Matched')], default='matched', max_length=10)),
                        ('hits', models.JSONField(blank=True, default=list)),
                        ('score', models.FloatField(default=0)),
                        ('in_email', models.BooleanField(default=True, help_text='False when over the per-digest cap.')),
                        ('digest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='digests.digest')),
                        ('paper', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='digest_items', to='papers.paper')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'digest_digestitem',
                        'ordering': ['digest_id', 'rank'],
                    },
                ),
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
                    },
                ),
                migrations.AddConstraint(
                    model_name='digest',
                    constraint=models.UniqueConstraint(fields=('user', 'date'), name='one_digest_per_user_per_day'),
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(condition=models.Q(('status__in', ['pending', 'retrying', 'sending'])), fields=['next_attempt_at'], name='delivery_due'),
                ),
                migrations.AddConstraint(
                    model_name='digestitem',
                    constraint=models.UniqueConstraint(fields=('user', 'paper'), name='paper_sent_once_per_user'),
                ),
                migrations.AddConstraint(
                    model_name='feedback',
                    constraint=models.UniqueConstraint(fields=('user', 'paper'), name='feedback_once'),
                ),
            ],
            database_operations=[],
        ),
    ]
