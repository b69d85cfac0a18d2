"""Issue 18 §5: the clock-event triggers of 0008, rewritten so that they also run on Citus workers.

On Citus (schema-based sharding) an enterprise's tables are shards on a worker, and the triggers
fire there. A query that joins a transition table (`deleted_events`, `new_details`) with a
table — 0008's `DELETE … USING deleted_events`, `… IN (SELECT event_id FROM new_details)` —
goes through Citus' planner, which fails with "unrecognized RTE kind: 7" (the transition table's
range-table kind). Each function now reads its transition table alone into an array
(`SELECT array_agg(…) INTO … FROM <transition table>`, which Citus leaves to PostgreSQL) and
passes the array to the statement that touches tables as a parameter (`EXECUTE … = ANY($1)`).
Same guarantees and same plans (the `event_id` unique index serves `= ANY`); the triggers
themselves are unchanged, so only the functions are replaced. tests/test_citus_static.py refuses
any other use of a transition table.

One statement per RunSQL entry: Citus refuses several commands in one on a distributed schema."""

from django.db import migrations

DETAILS_DELETE = """
CREATE OR REPLACE FUNCTION enterprise_data_clock_event_details_delete() RETURNS trigger AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(id) INTO ids FROM deleted_events;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'clock events can only be deleted under READ COMMITTED (their raw locations and photos are deleted by a trigger)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    EXECUTE format('DELETE FROM %I.enterprise_data_clockeventlocation WHERE event_id = ANY($1)', TG_TABLE_SCHEMA)
        USING ids;
    EXECUTE format('DELETE FROM %I.enterprise_data_clockeventphoto WHERE event_id = ANY($1)', TG_TABLE_SCHEMA)
        USING ids;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

DETAIL_CHECK = """
CREATE OR REPLACE FUNCTION enterprise_data_clock_event_detail_check() RETURNS trigger AS $$
DECLARE
    ids bigint[];
    held bigint;
BEGIN
    SELECT array_agg(DISTINCT event_id) FILTER (WHERE event_id IS NOT NULL) INTO ids FROM new_details;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I.enterprise_data_clockevent AS e '
                   'WHERE e.id = ANY($1) FOR KEY SHARE OF e) AS held', TG_TABLE_SCHEMA) INTO held USING ids;
    IF held <> cardinality(ids) THEN
        RAISE EXCEPTION 'insert or update on table "%" refers to a clock event that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# 0008's definitions, for going back
DETAILS_DELETE_0008 = """
CREATE OR REPLACE FUNCTION enterprise_data_clock_event_details_delete() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM deleted_events) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'clock events can only be deleted under READ COMMITTED (their raw locations and photos are deleted by a trigger)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    EXECUTE format('DELETE FROM %I.enterprise_data_clockeventlocation AS d USING deleted_events AS e '
                   'WHERE d.event_id = e.id', TG_TABLE_SCHEMA);
    EXECUTE format('DELETE FROM %I.enterprise_data_clockeventphoto AS d USING deleted_events AS e '
                   'WHERE d.event_id = e.id', TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

DETAIL_CHECK_0008 = """
CREATE OR REPLACE FUNCTION enterprise_data_clock_event_detail_check() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    held bigint;
BEGIN
    SELECT count(DISTINCT event_id) INTO wanted FROM new_details;
    IF wanted = 0 THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I.enterprise_data_clockevent AS e '
                   'WHERE e.id IN (SELECT event_id FROM new_details) FOR KEY SHARE OF e) AS held',
                   TG_TABLE_SCHEMA) INTO held;
    IF held <> wanted THEN
        RAISE EXCEPTION 'insert or update on table "%" refers to a clock event that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


class Migration(migrations.Migration):

    dependencies = [
        ("enterprise_data", "0012_verbose_names"),
    ]

    operations = [
        migrations.RunSQL(DETAILS_DELETE, DETAILS_DELETE_0008),
        migrations.RunSQL(DETAIL_CHECK, DETAIL_CHECK_0008),
    ]
