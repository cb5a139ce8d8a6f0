-- Trend analytics (docs/METRICS.md): per organization, its analytics settings and state, rollups of its
-- incidents per local day and per local month of its time zone, and the dirty marks through which every write
-- to `incidents` asks for the rollups to be refreshed. The marks are written by statement-level triggers, in
-- the writer's own transaction (the store pipeline, webhooks, deleting or unlinking an integration's data), so
-- no writer can forget them; the worker's refresher turns them into rollups a moment later.

-- One row per organization that has analytics settings or rollups: the settings (`NULL`: the defaults), and
-- `version`, bumped whenever an answer may change (the API's cache key). The refresher locks the row
-- (`FOR UPDATE SKIP LOCKED`), so two workers never refresh one organization at once.
CREATE TABLE analytics_state (
    org_id           uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    settings         jsonb,
    version          bigint      NOT NULL DEFAULT 0,
    refreshed_at     timestamptz,
    last_error       text,
    recompute_job_id uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_state_pkey PRIMARY KEY (org_id)
);
SELECT enable_tenant_rls('analytics_state');
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_state TO insights_app;

-- The UTC hours whose incidents changed (duplicates allowed: a plain insert never waits for another writer).
CREATE TABLE analytics_dirty (
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_dirty_org_hour_idx ON analytics_dirty (org_id, hour);
SELECT enable_tenant_rls('analytics_dirty');
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_dirty TO insights_app;

-- Rollups: one row per (local day, week or month, service, team, urgency, source, status) with incidents; a
-- week (from Monday) or month row is the merge of its day rows. A row without a source is the total of its
-- period over every key (what an unfiltered, ungrouped query reads: one row per period instead of one per key).
-- Sketches and the hour-of-week counts are sparse `int4[]` of (key, count) pairs, merged by the application.
CREATE TABLE analytics_rollups (
    org_id             uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    grain              text        NOT NULL,
    period             date        NOT NULL,
    service_id         uuid,
    team_id            uuid,
    urgency            text,
    source             text,
    status             text,
    count              bigint      NOT NULL,
    acknowledged       bigint      NOT NULL,
    resolved           bigint      NOT NULL,
    tta_n              bigint      NOT NULL,
    tta_sum_ms         bigint      NOT NULL,
    tta_sketch         int4[]      NOT NULL,
    ttr_n              bigint      NOT NULL,
    ttr_sum_ms         bigint      NOT NULL,
    ttr_sketch         int4[]      NOT NULL,
    off_hours          bigint      NOT NULL,
    sleep_hours        bigint      NOT NULL,
    auto_resolved      bigint      NOT NULL,
    never_acknowledged bigint      NOT NULL,
    repeats            bigint      NOT NULL,
    noisy              bigint      NOT NULL,
    week_hours         int4[]      NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_rollups_grain_check CHECK (grain IN ('day', 'week', 'month')),
    CONSTRAINT analytics_rollups_key UNIQUE NULLS NOT DISTINCT
        (org_id, grain, period, service_id, team_id, urgency, source, status)
);
SELECT enable_tenant_rls('analytics_rollups');
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_rollups TO insights_app;

-- The dirty marks of a statement's rows: the hour of each `triggered_at`, and the hour after it (an incident
-- makes the next hour's incidents of its service and title repeats). Skipped for an organization being deleted
-- (its rows go with it).
CREATE FUNCTION analytics_mark_inserted() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO analytics_dirty (org_id, hour)
    SELECT DISTINCT n.org_id, date_trunc('hour', n.triggered_at) + h.after
      FROM new_rows n CROSS JOIN (VALUES (interval '0'), (interval '1 hour')) AS h(after);
    RETURN NULL;
END
$$;

CREATE FUNCTION analytics_mark_deleted() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO analytics_dirty (org_id, hour)
    SELECT DISTINCT o.org_id, date_trunc('hour', o.triggered_at) + h.after
      FROM old_rows o CROSS JOIN (VALUES (interval '0'), (interval '1 hour')) AS h(after)
     WHERE EXISTS (SELECT 1 FROM organizations g WHERE g.id = o.org_id);
    RETURN NULL;
END
$$;

-- An update marks both hours of each incident whose analytics facts may have changed; an update of other
-- columns (description, raw payload, tags…) marks nothing.
CREATE FUNCTION analytics_mark_updated() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO analytics_dirty (org_id, hour)
    SELECT DISTINCT c.org_id, date_trunc('hour', c.at) + h.after
      FROM (SELECT o.org_id, unnest(ARRAY[o.triggered_at, n.triggered_at]) AS at
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.triggered_at, o.acknowledged_at, o.resolved_at, o.status, o.service_id, o.team_id,
                    o.urgency, o.source, o.title)
                   IS DISTINCT FROM
                   (n.triggered_at, n.acknowledged_at, n.resolved_at, n.status, n.service_id, n.team_id,
                    n.urgency, n.source, n.title)) AS c
     CROSS JOIN (VALUES (interval '0'), (interval '1 hour')) AS h(after)
     WHERE EXISTS (SELECT 1 FROM organizations g WHERE g.id = c.org_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_analytics_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_inserted();
CREATE TRIGGER incidents_analytics_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_updated();
CREATE TRIGGER incidents_analytics_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_deleted();

-- The organizations with dirty marks, oldest first, for the worker's refresher (across tenants).
CREATE FUNCTION analytics_dirty_orgs(p_limit integer)
    RETURNS TABLE (org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT org_id FROM analytics_dirty GROUP BY org_id ORDER BY min(created_at) LIMIT p_limit $$;
REVOKE ALL ON FUNCTION analytics_dirty_orgs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics_dirty_orgs(integer) TO insights_app;

-- Repeats look for an earlier incident of the same service and title within the hour through
-- incidents_org_service_idx (org_id, service_id, triggered_at): a service has few incidents in an hour, so no
-- index of its own (which would cost every write).
