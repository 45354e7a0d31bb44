# Seals break and cancellation reasons written before 0010 made their columns encrypted
# (client's key, so erasure shreds them); a migration of its own, as process 0005 explains.

from django.db import migrations

from reverie.vault.migrating import seal_columns


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0001_data_keys'),
        ('care', '0010_encrypt_break_and_cancel_reasons'),
    ]

    operations = [
        migrations.RunPython(*seal_columns('care', 'Break', ['reason'])),
        migrations.RunPython(*seal_columns('care', 'Appointment', ['cancel_reason'])),
    ]
