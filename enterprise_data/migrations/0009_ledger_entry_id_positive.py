"""ENT-10: ledger ids are positive (CHECK constraint), in the template and every enterprise schema.

The chain is verified over ids above the newest checkpoint (0 without one), so a row with id <= 0
could sit outside it; the sequence never produces one, only a hand-written INSERT could. Cloned
schemas copy the constraint with the table (tenants/provisioning.py keeps its name).
`ledger_verify` still reports, by id, any row with id <= 0 should the constraint be dropped.
Applying this fails on a schema that already holds such a row: run `verify_ledger` first."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('enterprise_data', '0008_clock_event_detail_triggers'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('id__gt', 0)), name='ledger_entry_id_positive'),
        ),
    ]
