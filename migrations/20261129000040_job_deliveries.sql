-- Job recovery and fairness between organizations (issue 9, points 5 and 7).
--
-- `deliveries` numbers the deliveries of a job to its Redis queue: the queue holds one task per (job,
-- delivery), so pushing the same delivery twice (the sweeper finding a job that is in fact still queued) stores
-- it once. A new delivery is made when a job must run again: its worker died, it was interrupted, it waits to
-- retry, or it was deferred because its organization already runs its share of jobs of that kind.
-- `run_after` is when that delivery is due (NULL: at once), so that a delivery lost with Redis's data — a
-- retry or a deferral waiting in Redis — is found and pushed again once it is overdue.
ALTER TABLE job_runs
    ADD COLUMN deliveries integer NOT NULL DEFAULT 0,
    ADD COLUMN run_after timestamptz;

-- The running jobs of an organization, counted before another one starts.
CREATE INDEX job_runs_running_org_idx ON job_runs (org_id, kind) WHERE state = 'running';
CREATE INDEX job_runs_retrying_idx ON job_runs (updated_at) WHERE state = 'retrying';

-- Jobs whose delivery seems lost: waiting (queued, or retrying) for longer than `p_queued_for` past the time
-- they were due, or running without a heartbeat for longer than `p_silent_for` (their worker died). One arm per
-- state, so that each reads its partial index instead of the whole table.
DROP FUNCTION stale_jobs(interval, interval, integer);
CREATE FUNCTION stale_jobs(p_queued_for interval, p_silent_for interval, p_limit integer)
    RETURNS TABLE (id uuid, org_id uuid, kind text, subject_id uuid, state text, deliveries integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, org_id, kind, subject_id, state, deliveries FROM job_runs
          WHERE (state = 'queued' AND greatest(updated_at, run_after) < now() - p_queued_for)
             OR (state = 'retrying' AND greatest(updated_at, run_after) < now() - p_queued_for)
             OR (state = 'running' AND coalesce(heartbeat_at, updated_at) < now() - p_silent_for)
          ORDER BY updated_at LIMIT p_limit $$;
REVOKE ALL ON FUNCTION stale_jobs(interval, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stale_jobs(interval, interval, integer) TO insights_app;
