"""DSR-3: a request's history is append-only. PostgreSQL refuses UPDATE, DELETE and TRUNCATE on
the events table, in the public schema and in every enterprise schema (the table exists in both).

The one exception is a retention purge, which may set `portal.requests_purge = 'on'` for its own
transaction (SET LOCAL) to delete whole expired histories, like the ledger's purge (ENT-10)."""

from django.db import migrations

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
FORWARD = [
    """
CREATE OR REPLACE FUNCTION requests_event_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('portal.requests_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'a request''s history is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER request_events_append_only
    BEFORE UPDATE OR DELETE ON requests_requestevent
    FOR EACH ROW EXECUTE FUNCTION requests_event_refuse_change()
""",
    """
CREATE TRIGGER request_events_no_truncate
    BEFORE TRUNCATE ON requests_requestevent
    FOR EACH STATEMENT EXECUTE FUNCTION requests_event_refuse_change()
""",
]

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
BACKWARD = [
    """
DROP TRIGGER IF EXISTS request_events_no_truncate ON requests_requestevent
""",
    """
DROP TRIGGER IF EXISTS request_events_append_only ON requests_requestevent
""",
    """
DROP FUNCTION IF EXISTS requests_event_refuse_change()
""",
]


class Migration(migrations.Migration):
    dependencies = [("requests", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD, hints={"model_name": "requestevent"})]
