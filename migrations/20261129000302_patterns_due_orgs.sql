-- Which organizations' patterns are due for refinement, across tenants (the worker's scheduler): incidents
-- were assigned since the last refinement, the last one (or, never refined, the first assignment) was at least
-- `p_interval_s` seconds ago, and no refinement job is waiting or running — nor did one end (a failure
-- included) within the interval, so a refinement that keeps failing is tried again once per interval, not on
-- every tick.
CREATE FUNCTION patterns_due_orgs(p_interval_s integer, p_limit integer)
    RETURNS TABLE (org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT s.org_id FROM pattern_state s
         WHERE s.pending > 0
           AND coalesce(s.refined_at, s.created_at) <= now() - make_interval(secs => p_interval_s)
           AND NOT EXISTS (
               SELECT 1 FROM job_runs j
                WHERE j.id = s.refine_job_id
                  AND (j.state IN ('queued', 'running', 'retrying')
                       OR j.updated_at > now() - make_interval(secs => p_interval_s)))
         ORDER BY coalesce(s.refined_at, s.created_at), s.org_id
         LIMIT p_limit
    $$;
REVOKE ALL ON FUNCTION patterns_due_orgs(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patterns_due_orgs(integer, integer) TO insights_app;
