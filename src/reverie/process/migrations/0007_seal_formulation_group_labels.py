# Seals the formulation-group labels written before 0006 made the column encrypted;
# reversible (the reversal opens the tokens again, before 0006's reversal turns the
# column back into a plain one).

from django.db import migrations

from reverie.vault.migrating import seal_columns


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0001_data_keys'),
        ('process', '0006_encrypt_formulation_group_labels'),
    ]

    operations = [
        migrations.RunPython(*seal_columns('process', 'FormulationGroup', ['label'])),
    ]
