"""RET-2/RET-3 (PERF-2): a clock event's raw location and photo are linked to it by triggers that
work per statement, instead of foreign-key constraints that work per row.

A foreign key makes PostgreSQL run, for every deleted ClockEvent row and every referencing table,
a check query (two for Django's NO ACTION constraints, one for ON DELETE CASCADE). Those per-row
checks were about 90 % of the time of deleting expired clock events, although the purge always
finds no details left (raw coordinates and photos expire years earlier). The triggers keep the
same guarantees with one set-based statement per table and statement:

- deleting clock events deletes their details (ON DELETE CASCADE), from the statement's
  transition table, joined on the unique `event_id` index;
- inserting or updating a detail locks its event (FOR KEY SHARE, as a foreign key does) and
  refuses a detail whose event does not exist (SQLSTATE 23503, foreign_key_violation);
- a clock event's id cannot change, and the clock-event table cannot be truncated while details
  exist.

Concurrency, READ COMMITTED: a detail inserted for an event that another transaction is deleting
waits for that transaction's lock and then finds the event gone (error); a delete that waits for
a detail's transaction to commit cascades with a fresh snapshot and removes it. Under REPEATABLE
READ / SERIALIZABLE the cascade could not see a detail committed after the snapshot, so deleting
clock events is refused there (the portal uses READ COMMITTED throughout). The reasoning and the
tests: docs/retention.md, tests/retention/test_clock_event_links.py.

Functions take the schema from TG_TABLE_SCHEMA, so they are correct in the template, in every
clone of it (tenants/provisioning.py copies functions and triggers) and whatever the
search_path of the session that deletes."""

import django.db.models.deletion
from django.db import migrations, models

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
FORWARD = [
    """
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
""",
    """
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
""",
    """
CREATE OR REPLACE FUNCTION enterprise_data_clock_event_refuse_change() RETURNS trigger AS $$
DECLARE
    details boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a clock event''s id cannot change' USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- TRUNCATE: the details are checked after every table of the statement is truncated
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.enterprise_data_clockeventlocation) '
                   'OR EXISTS (SELECT 1 FROM %1$I.enterprise_data_clockeventphoto)', TG_TABLE_SCHEMA) INTO details;
    IF details THEN
        RAISE EXCEPTION 'clock events cannot be truncated while raw locations or photos refer to them'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER clock_event_details_delete
    AFTER DELETE ON enterprise_data_clockevent REFERENCING OLD TABLE AS deleted_events
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_details_delete()
""",
    """
CREATE TRIGGER clock_event_id_fixed
    BEFORE UPDATE OF id ON enterprise_data_clockevent
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION enterprise_data_clock_event_refuse_change()
""",
    """
CREATE TRIGGER clock_event_truncate_check
    AFTER TRUNCATE ON enterprise_data_clockevent
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_refuse_change()
""",
    """
-- transition tables need one trigger per event
CREATE TRIGGER clock_event_location_insert_check
    AFTER INSERT ON enterprise_data_clockeventlocation REFERENCING NEW TABLE AS new_details
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_detail_check()
""",
    """
CREATE TRIGGER clock_event_location_update_check
    AFTER UPDATE ON enterprise_data_clockeventlocation REFERENCING NEW TABLE AS new_details
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_detail_check()
""",
    """
CREATE TRIGGER clock_event_photo_insert_check
    AFTER INSERT ON enterprise_data_clockeventphoto REFERENCING NEW TABLE AS new_details
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_detail_check()
""",
    """
CREATE TRIGGER clock_event_photo_update_check
    AFTER UPDATE ON enterprise_data_clockeventphoto REFERENCING NEW TABLE AS new_details
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise_data_clock_event_detail_check()
""",
]

# one statement per entry (issue 18 §5: Citus refuses several in one on a distributed schema)
BACKWARD = [
    """
DROP TRIGGER IF EXISTS clock_event_photo_update_check ON enterprise_data_clockeventphoto
""",
    """
DROP TRIGGER IF EXISTS clock_event_photo_insert_check ON enterprise_data_clockeventphoto
""",
    """
DROP TRIGGER IF EXISTS clock_event_location_update_check ON enterprise_data_clockeventlocation
""",
    """
DROP TRIGGER IF EXISTS clock_event_location_insert_check ON enterprise_data_clockeventlocation
""",
    """
DROP TRIGGER IF EXISTS clock_event_truncate_check ON enterprise_data_clockevent
""",
    """
DROP TRIGGER IF EXISTS clock_event_id_fixed ON enterprise_data_clockevent
""",
    """
DROP TRIGGER IF EXISTS clock_event_details_delete ON enterprise_data_clockevent
""",
    """
DROP FUNCTION IF EXISTS enterprise_data_clock_event_refuse_change()
""",
    """
DROP FUNCTION IF EXISTS enterprise_data_clock_event_detail_check()
""",
    """
DROP FUNCTION IF EXISTS enterprise_data_clock_event_details_delete()
""",
]


class Migration(migrations.Migration):

    dependencies = [
        ("enterprise_data", "0007_clock_event_photo"),
    ]

    operations = [
        # Django drops the two foreign-key constraints (found by introspection, whatever a clone
        # named them); reversing re-creates them (and BACKWARD has removed the triggers first).
        migrations.AlterField(
            model_name="clockeventlocation",
            name="event",
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                       related_name="raw_location", to="enterprise_data.clockevent"),
        ),
        migrations.AlterField(
            model_name="clockeventphoto",
            name="event",
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                       related_name="photo", to="enterprise_data.clockevent"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
