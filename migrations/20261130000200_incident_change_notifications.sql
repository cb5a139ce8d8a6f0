-- Every API process keeps recently served pages of each organization's incident list in memory and forgets an
-- organization's pages when PostgreSQL says what they show changed (backend/src/cache.rs): these statement
-- triggers send the organization's id on the channel `insights_incident_changes` once per statement that
-- wrote its incidents, services, teams (their names are in the list) or pattern aliases (a merged pattern's
-- filter follows them). A notification is delivered when its transaction commits, identical ones of one
-- transaction once; a backfill's batch is one statement, so one notification.

CREATE FUNCTION notify_incident_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- (One branch per transition table: PL/pgSQL plans a query only when it first runs it.)
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('insights_incident_changes', org_id::text) FROM (SELECT DISTINCT org_id FROM old_rows) o;
    ELSE
        PERFORM pg_notify('insights_incident_changes', org_id::text) FROM (SELECT DISTINCT org_id FROM new_rows) o;
    END IF;
    RETURN NULL;
END $$;

-- A trigger with transition tables has one event: three per table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['incidents', 'services', 'teams', 'pattern_aliases'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_incident_change()', t || '_notify_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_incident_change()', t || '_notify_update', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_incident_change()', t || '_notify_delete', t);
    END LOOP;
END $$;
