# Seals the theme text written before 0004 made its columns encrypted; reversible (the
# reversal opens the tokens again, before 0004's reversal turns the columns back).

from django.db import migrations

from reverie.vault.migrating import seal_columns


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0001_data_keys'),
        ('process', '0004_encrypt_theme_text'),
    ]

    operations = [
        migrations.RunPython(*seal_columns('process', 'RecurringTheme', ['label', 'terms'])),
        migrations.RunPython(*seal_columns('process', 'ThemeEvidence', ['sentence'])),
    ]
