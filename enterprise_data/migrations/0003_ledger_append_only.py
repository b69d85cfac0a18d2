"""ENT-10: PostgreSQL refuses UPDATE and DELETE on the ledger.

The one exception is the retention purge (RET-5), which sets `portal.ledger_purge = 'on'` for
its own transaction (SET LOCAL) and leaves a LedgerCheckpoint so the chain stays verifiable.
TRUNCATE is refused too (statement-level trigger)."""

from django.db import migrations

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
FORWARD = [
    """
CREATE OR REPLACE FUNCTION enterprise_data_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('portal.ledger_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the instruction ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON enterprise_data_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION enterprise_data_ledger_refuse_change()
""",
    """
CREATE TRIGGER ledger_no_truncate
    BEFORE TRUNCATE ON enterprise_data_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_ledger_refuse_change()
""",
]

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
BACKWARD = [
    """
DROP TRIGGER IF EXISTS ledger_no_truncate ON enterprise_data_ledgerentry
""",
    """
DROP TRIGGER IF EXISTS ledger_append_only ON enterprise_data_ledgerentry
""",
    """
DROP FUNCTION IF EXISTS enterprise_data_ledger_refuse_change()
""",
]


class Migration(migrations.Migration):
    dependencies = [("enterprise_data", "0002_enterprise_data_models")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
