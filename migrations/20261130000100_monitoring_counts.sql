-- What `/metrics` counts across tenants at each scrape (issue 14, monitoring), as narrow SECURITY DEFINER
-- functions like `job_run_counts`: numbers by kind, never a tenant's rows.

-- Integrations by source and health: `deleting` and `paused` as the integration says, `failing` when its
-- latest finished sync failed (until a sync succeeds), else `healthy`. The latest finished sync is read through
-- `job_runs_subject_idx`.
CREATE FUNCTION integration_health_counts() RETURNS TABLE (kind text, health text, count bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT i.kind,
                 CASE WHEN i.deleting_at IS NOT NULL THEN 'deleting'
                      WHEN i.paused_at IS NOT NULL THEN 'paused'
                      WHEN last.state = 'failed' THEN 'failing'
                      ELSE 'healthy' END AS health,
                 count(*)
            FROM integrations i
            LEFT JOIN LATERAL (SELECT j.state FROM job_runs j
                                WHERE j.org_id = i.org_id AND j.subject_id = i.id
                                  AND j.kind = 'sync_integration'
                                  AND j.state IN ('succeeded', 'failed', 'cancelled')
                                ORDER BY j.created_at DESC LIMIT 1) last ON true
           GROUP BY 1, 2 $$;

-- The backlog by kind: jobs waiting for a worker (queued, or retrying) whose delivery is due — not those
-- deferred to a later time —, and how long the oldest of them has been due, in seconds. One arm per state,
-- so that each reads its partial index.
CREATE FUNCTION job_backlog() RETURNS TABLE (kind text, count bigint, oldest_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT kind, count(*),
                 extract(epoch FROM now() - min(greatest(updated_at, run_after)))::double precision
            FROM (SELECT kind, updated_at, run_after FROM job_runs WHERE state = 'queued'
                  UNION ALL
                  SELECT kind, updated_at, run_after FROM job_runs WHERE state = 'retrying') waiting
           WHERE greatest(updated_at, run_after) <= now()
           GROUP BY kind $$;

REVOKE ALL ON FUNCTION integration_health_counts() FROM PUBLIC;
REVOKE ALL ON FUNCTION job_backlog() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration_health_counts() TO insights_app;
GRANT EXECUTE ON FUNCTION job_backlog() TO insights_app;
