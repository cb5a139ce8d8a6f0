-- The unified incident schema: incidents from every source (PagerDuty, Opsgenie, the built-in sample source)
-- keyed by (org_id, source, external_id), with their timeline, services and teams. The raw payload is kept so
-- a better mapping can re-normalize old data without fetching it again. Row-level security as everywhere.

CREATE TABLE services (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    source      text        NOT NULL,
    external_id text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT services_source_key UNIQUE (org_id, source, external_id)
);

CREATE TABLE teams (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    source      text        NOT NULL,
    external_id text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_source_key UNIQUE (org_id, source, external_id)
);

CREATE TABLE incidents (
    id                uuid        PRIMARY KEY,
    org_id            uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    source            text        NOT NULL,
    external_id       text        NOT NULL,
    number            bigint,
    title             text        NOT NULL,
    description       text,
    service_id        uuid        REFERENCES services (id) ON DELETE SET NULL,
    team_id           uuid        REFERENCES teams (id) ON DELETE SET NULL,
    urgency           text,
    priority          text,
    status            text        NOT NULL,
    triggered_at      timestamptz NOT NULL,
    acknowledged_at   timestamptz,
    resolved_at       timestamptz,
    assignees         jsonb       NOT NULL DEFAULT '[]',
    tags              text[]      NOT NULL DEFAULT '{}',
    source_url        text,
    -- When the source last changed it: an older version never overwrites a newer one.
    source_updated_at timestamptz NOT NULL,
    raw               jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incidents_source_key UNIQUE (org_id, source, external_id),
    CONSTRAINT incidents_status_check CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    CONSTRAINT incidents_urgency_check CHECK (urgency IS NULL OR urgency IN ('high', 'low'))
);
CREATE INDEX incidents_org_triggered_idx ON incidents (org_id, triggered_at DESC, id DESC);
CREATE INDEX incidents_org_service_idx ON incidents (org_id, service_id, triggered_at DESC);
CREATE INDEX incidents_org_team_idx ON incidents (org_id, team_id, triggered_at DESC);
CREATE INDEX incidents_org_status_idx ON incidents (org_id, status, triggered_at DESC);

CREATE TABLE incident_events (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    incident_id uuid        NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    external_id text        NOT NULL,
    kind        text        NOT NULL,
    at          timestamptz NOT NULL,
    actor       text,
    message     text,
    raw         jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_events_source_key UNIQUE (org_id, incident_id, external_id)
);
CREATE INDEX incident_events_incident_idx ON incident_events (org_id, incident_id, at);

ALTER TABLE services ENABLE ROW LEVEL SECURITY;
ALTER TABLE services FORCE ROW LEVEL SECURITY;
CREATE POLICY services_tenant ON services USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE teams FORCE ROW LEVEL SECURITY;
CREATE POLICY teams_tenant ON teams USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY incidents_tenant ON incidents USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

ALTER TABLE incident_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE incident_events FORCE ROW LEVEL SECURITY;
CREATE POLICY incident_events_tenant ON incident_events USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON services, teams, incidents, incident_events TO insights_app;
