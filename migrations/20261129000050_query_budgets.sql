-- Query budgets and fairness (issue 9, points 5 and 6).
--
-- 1. pg_trgm, for the trigram indexes of incident text search (created concurrently by the next two
--    migrations): `title ILIKE '%…%'` is then a bitmap index scan instead of a scan of every incident of the
--    organization. pg_trgm is a trusted extension shipped with PostgreSQL (Debian: postgresql-NN); ILIKE is
--    made usable as an index condition under row-level security (below).
-- 2. integrations.incident_count, kept by a trigger on incidents in the same transaction as every write that
--    adds, moves or removes an integration's incident, so listing integrations no longer counts their
--    incidents on each poll. The trigger is statement-level (one UPDATE per integration and statement, from
--    the transition tables), runs as the caller, and so only ever touches the caller's organization.
-- 3. purge_webhook_deliveries also deletes deliveries that failed (their job ended without processing them):
--    before, only processed ones went, so an unreadable delivery stayed forever.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Row-level security evaluates its policy before any condition whose function is not LEAKPROOF, and such a
-- condition cannot be an index condition: under the policy of incidents, `title ILIKE '%…%'` could never use
-- the trigram index. ILIKE's function reveals nothing about a row through its errors (they depend on the
-- pattern alone), so it is marked LEAKPROOF in this database. Only a superuser may do that: when the
-- migrating role is not one, search still works, without the index (see docs/configuration.md: run this
-- statement once as a superuser).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF;
    ELSE
        RAISE NOTICE 'not a superuser: run ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF as one for indexed text search';
    END IF;
END
$$;

ALTER TABLE integrations ADD COLUMN incident_count bigint NOT NULL DEFAULT 0;

-- One function per event: a function can only read the transition tables its trigger declares (an INSERT has
-- no old rows, a DELETE no new ones).
CREATE FUNCTION integrations_count_inserted() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    UPDATE integrations i SET incident_count = i.incident_count + d.n
      FROM (SELECT integration_id, count(*) AS n FROM new_rows
             WHERE integration_id IS NOT NULL GROUP BY integration_id) d
     WHERE i.id = d.integration_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION integrations_count_deleted() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    UPDATE integrations i SET incident_count = greatest(i.incident_count - d.n, 0)
      FROM (SELECT integration_id, count(*) AS n FROM old_rows
             WHERE integration_id IS NOT NULL GROUP BY integration_id) d
     WHERE i.id = d.integration_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION integrations_count_moved() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    UPDATE integrations i SET incident_count = greatest(i.incident_count + d.n, 0)
      FROM (SELECT integration_id, sum(n) AS n FROM (
                SELECT integration_id, 1 AS n FROM new_rows WHERE integration_id IS NOT NULL
                UNION ALL
                SELECT integration_id, -1 FROM old_rows WHERE integration_id IS NOT NULL) m
             GROUP BY integration_id) d
     WHERE i.id = d.integration_id AND d.n <> 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_count_inserted AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION integrations_count_inserted();
CREATE TRIGGER incidents_count_deleted AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION integrations_count_deleted();
CREATE TRIGGER incidents_count_moved AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION integrations_count_moved();

UPDATE integrations i SET incident_count = c.n
  FROM (SELECT integration_id, count(*) AS n FROM incidents
         WHERE integration_id IS NOT NULL GROUP BY integration_id) c
 WHERE i.id = c.integration_id;

CREATE OR REPLACE FUNCTION purge_webhook_deliveries(p_older_than interval)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ WITH gone AS (
              DELETE FROM webhook_deliveries d
               WHERE d.created_at < now() - p_older_than
                 -- Processed, or never will be: its job ended (failed, cancelled) or is gone.
                 AND (d.processed_at IS NOT NULL
                      OR NOT EXISTS (SELECT 1 FROM job_runs j
                                      WHERE j.id = d.job_run_id AND j.state IN ('queued', 'running', 'retrying')))
           RETURNING job_run_id),
         jobs AS (
              DELETE FROM job_runs j USING gone
               WHERE j.id = gone.job_run_id AND j.state IN ('succeeded', 'failed', 'cancelled')
           RETURNING 1)
          SELECT count(*) FROM gone $$;
