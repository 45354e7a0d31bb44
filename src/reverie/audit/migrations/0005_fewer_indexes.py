"""The audit table's index on ``practice_id`` goes: the (practice, -seq) index leads with
the same column and serves every lookup by practice, and every audited action wrote both.
bench/RESULTS.md (2026-12-07, indexes on the hot tables) gives what it cost."""

from django.db import migrations, models

import reverie.core.schema


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_head_is_the_newest_entry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="practice",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.practice",
                    ),
                ),
            ],
            database_operations=[
                reverie.core.schema.drop_field_index("audit_auditentry", "practice_id"),
            ],
        ),
    ]
