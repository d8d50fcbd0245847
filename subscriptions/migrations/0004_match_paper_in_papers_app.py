"""``Match.paper`` points at ``papers.Paper``: the same table as before, so state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('papers', '0001_initial'),
        ('subscriptions', '0003_match_without_redundant_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='match',
                    name='paper',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='matches', to='papers.paper'),
                ),
            ],
            database_operations=[],
        ),
    ]
