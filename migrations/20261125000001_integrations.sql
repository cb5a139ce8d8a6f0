-- Integrations: PagerDuty and Opsgenie connections (credentials encrypted by the application with
-- INSIGHTS_SECRET_KEY), what each imported, webhook deliveries, and what long jobs need to resume, be
-- cancelled and be detected as dead (checkpoint, cancel request, heartbeat).

CREATE TABLE integrations (
    id                    uuid        PRIMARY KEY,
    org_id                uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind                  text        NOT NULL,
    name                  text        NOT NULL,
    -- Opsgenie's region (us | eu); NULL for PagerDuty.
    region                text,
    -- AES-256-GCM(nonce || ciphertext) of the credential JSON; never leaves the server.
    credentials           bytea       NOT NULL,
    credentials_updated_at timestamptz NOT NULL DEFAULT now(),
    options               jsonb       NOT NULL DEFAULT '{}',
    sync_interval_minutes integer     NOT NULL DEFAULT 15,
    -- Encrypted webhook secret: PagerDuty's signing secret (given by the user), or the token Opsgenie must send.
    webhook_secret        bytea,
    -- Changes up to this time have been imported; the next incremental sync starts here (minus an overlap).
    sync_watermark        timestamptz,
    next_sync_at          timestamptz,
    paused_at             timestamptz,
    -- Set while its imported data is being deleted; the row goes when the purge ends.
    deleting_at           timestamptz,
    created_by            uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integrations_kind_check CHECK (kind IN ('pagerduty', 'opsgenie')),
    CONSTRAINT integrations_region_check CHECK (
        (kind = 'opsgenie' AND region IN ('us', 'eu')) OR (kind = 'pagerduty' AND region IS NULL)),
    CONSTRAINT integrations_interval_check CHECK (sync_interval_minutes BETWEEN 1 AND 1440)
);
CREATE INDEX integrations_org_idx ON integrations (org_id, created_at);
CREATE INDEX integrations_due_idx ON integrations (next_sync_at)
    WHERE paused_at IS NULL AND deleting_at IS NULL;

-- Where each incident came from, so an integration's data can be deleted with it.
ALTER TABLE incidents ADD COLUMN integration_id uuid REFERENCES integrations (id) ON DELETE SET NULL;
CREATE INDEX incidents_integration_idx ON incidents (integration_id) WHERE integration_id IS NOT NULL;

-- Webhook deliveries, deduplicated by the sender's delivery id (or a digest of the body).
CREATE TABLE webhook_deliveries (
    id             uuid        PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    integration_id uuid        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    delivery_key   text        NOT NULL,
    event_type     text,
    payload        jsonb       NOT NULL,
    job_run_id     uuid,
    processed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_key UNIQUE (integration_id, delivery_key)
);
CREATE INDEX webhook_deliveries_integration_idx ON webhook_deliveries (org_id, integration_id, created_at DESC);

-- Long jobs: a checkpoint to resume from, a cancel request, and a heartbeat that tells a live attempt from a
-- dead worker's.
ALTER TABLE job_runs
    ADD COLUMN checkpoint jsonb,
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN started_at timestamptz;
ALTER TABLE job_runs DROP CONSTRAINT job_runs_state_check;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_state_check
    CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'));
CREATE INDEX job_runs_subject_idx ON job_runs (org_id, subject_id, created_at DESC) WHERE subject_id IS NOT NULL;
-- At most one sync of an integration at a time.
CREATE UNIQUE INDEX job_runs_one_active_sync ON job_runs (subject_id)
    WHERE kind = 'sync_integration' AND state IN ('queued', 'running', 'retrying');

ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY integrations_tenant ON integrations USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
    USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON integrations, webhook_deliveries TO insights_app;

-- Cross-tenant lookups, as narrow SECURITY DEFINER functions.

-- Which organization a webhook's integration belongs to (the signature or token is the proof of access).
CREATE FUNCTION webhook_target(p_integration uuid)
    RETURNS TABLE (org_id uuid, kind text, webhook_secret bytea)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT org_id, kind, webhook_secret FROM integrations
          WHERE id = p_integration AND deleting_at IS NULL $$;

-- Integrations whose scheduled sync is due and not already running, for the worker's scheduler. One whose
-- first import was cancelled (and never finished) waits for someone to start it again.
CREATE FUNCTION due_integrations(p_limit integer)
    RETURNS TABLE (id uuid, org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT i.id, i.org_id FROM integrations i
            CROSS JOIN LATERAL (SELECT j.state FROM job_runs j
                                 WHERE j.subject_id = i.id AND j.kind = 'sync_integration'
                                 ORDER BY j.created_at DESC LIMIT 1) last
          WHERE i.paused_at IS NULL AND i.deleting_at IS NULL AND i.next_sync_at <= now()
            AND last.state NOT IN ('queued', 'running', 'retrying')
            AND (i.sync_watermark IS NOT NULL OR last.state <> 'cancelled')
          ORDER BY i.next_sync_at LIMIT p_limit $$;

-- Jobs whose enqueue was lost (queued too long) or whose worker died (running without a heartbeat).
CREATE FUNCTION stale_jobs(p_queued_for interval, p_silent_for interval, p_limit integer)
    RETURNS TABLE (id uuid, org_id uuid, kind text, subject_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, org_id, kind, subject_id FROM job_runs
          WHERE (state = 'queued' AND updated_at < now() - p_queued_for)
             OR (state = 'running' AND coalesce(heartbeat_at, updated_at) < now() - p_silent_for)
          ORDER BY updated_at LIMIT p_limit $$;
CREATE INDEX job_runs_running_idx ON job_runs (heartbeat_at) WHERE state = 'running';

-- Retention: processed webhook deliveries (and their jobs) older than `p_older_than` — redeliveries come within
-- minutes, so a week is plenty to deduplicate — across tenants, for the worker's scheduler.
CREATE FUNCTION purge_webhook_deliveries(p_older_than interval)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ WITH gone AS (
              DELETE FROM webhook_deliveries
               WHERE processed_at IS NOT NULL AND created_at < now() - p_older_than
           RETURNING job_run_id),
         jobs AS (
              DELETE FROM job_runs j USING gone
               WHERE j.id = gone.job_run_id AND j.state IN ('succeeded', 'failed', 'cancelled')
           RETURNING 1)
          SELECT count(*) FROM gone $$;

DROP FUNCTION stale_queued_jobs(interval, integer);

REVOKE ALL ON FUNCTION webhook_target(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION due_integrations(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION stale_jobs(interval, interval, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION purge_webhook_deliveries(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_target(uuid) TO insights_app;
GRANT EXECUTE ON FUNCTION due_integrations(integer) TO insights_app;
GRANT EXECUTE ON FUNCTION stale_jobs(interval, interval, integer) TO insights_app;
GRANT EXECUTE ON FUNCTION purge_webhook_deliveries(interval) TO insights_app;
