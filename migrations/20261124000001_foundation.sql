-- Foundation: accounts, organizations, memberships, invitations, refresh tokens, audit log, tracked jobs,
-- feedback. Tenant isolation has two walls: every query in code is scoped by org_id, and row-level security
-- below enforces it for the application role `insights_app`, which does not own these tables. Each request
-- sets `app.org_id` (and `app.user_id`) for its transaction with set_config(..., true).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'insights_app') THEN
        CREATE ROLE insights_app NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO insights_app;

-- The tenant and the user of the current transaction (NULL when not set).
CREATE FUNCTION app_org_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

CREATE FUNCTION app_user_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_normalized CHECK (email = lower(btrim(email)))
);

CREATE TABLE organizations (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    slug       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);

CREATE TABLE memberships (
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_pkey PRIMARY KEY (org_id, user_id),
    CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'))
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE invitations (
    id               uuid        PRIMARY KEY,
    org_id           uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email            text        NOT NULL,
    role             text        NOT NULL,
    token_hash       bytea       NOT NULL,
    -- The token encrypted with INSIGHTS_SECRET_KEY, kept only until the invitation email has been sent.
    token_ciphertext bytea,
    invited_by       uuid        REFERENCES users (id) ON DELETE SET NULL,
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    accepted_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
    revoked_at       timestamptz,
    delivery_job_id  uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'))
);
CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid        NOT NULL,
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE audit_events (
    id         uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_id   uuid        REFERENCES users (id) ON DELETE SET NULL,
    action     text        NOT NULL,
    target     jsonb       NOT NULL DEFAULT '{}',
    details    jsonb       NOT NULL DEFAULT '{}',
    ip         inet,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_org_created_idx ON audit_events (org_id, created_at DESC, id DESC);

CREATE TABLE job_runs (
    id           uuid        PRIMARY KEY,
    org_id       uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind         text        NOT NULL,
    subject_id   uuid,
    state        text        NOT NULL DEFAULT 'queued',
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL,
    last_error   text,
    progress     jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CONSTRAINT job_runs_state_check CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed'))
);
CREATE INDEX job_runs_org_created_idx ON job_runs (org_id, created_at DESC, id DESC);
CREATE INDEX job_runs_queued_idx ON job_runs (updated_at) WHERE state = 'queued';

CREATE TABLE feedback (
    id         uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    uuid        REFERENCES users (id) ON DELETE SET NULL,
    message    text        NOT NULL,
    page       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_org_created_idx ON feedback (org_id, created_at DESC, id DESC);

-- Row-level security: the second wall.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organizations_tenant ON organizations
    USING (id = app_org_id())
    WITH CHECK (id = app_org_id());
CREATE POLICY organizations_member_read ON organizations FOR SELECT
    USING (EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = organizations.id AND m.user_id = app_user_id()));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
    USING (org_id = app_org_id())
    WITH CHECK (org_id = app_org_id());
-- A user may read their own memberships in every organization (GET /me, the organization switcher).
CREATE POLICY memberships_own_read ON memberships FOR SELECT
    USING (user_id = app_user_id());

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_tenant ON invitations
    USING (org_id = app_org_id())
    WITH CHECK (org_id = app_org_id());

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
    USING (org_id = app_org_id())
    WITH CHECK (org_id = app_org_id());

ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY job_runs_tenant ON job_runs
    USING (org_id = app_org_id())
    WITH CHECK (org_id = app_org_id());

ALTER TABLE feedback ENABLE ROW LEVEL SECURITY;
ALTER TABLE feedback FORCE ROW LEVEL SECURITY;
CREATE POLICY feedback_tenant ON feedback
    USING (org_id = app_org_id())
    WITH CHECK (org_id = app_org_id());

-- The few lookups that must cross tenants, as narrow SECURITY DEFINER functions.

-- Which organization an invitation token belongs to (the token is the proof of access).
CREATE FUNCTION invitation_org_by_token_hash(p_token_hash bytea) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT org_id FROM invitations WHERE token_hash = p_token_hash $$;

-- Job counts by kind and state, for /metrics.
CREATE FUNCTION job_run_counts() RETURNS TABLE (kind text, state text, count bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT kind, state, count(*) FROM job_runs GROUP BY kind, state $$;

-- Jobs recorded as queued but not picked up (their enqueue was lost), for the worker to enqueue again.
CREATE FUNCTION stale_queued_jobs(p_older_than interval, p_limit integer)
    RETURNS TABLE (id uuid, org_id uuid, kind text, subject_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, org_id, kind, subject_id FROM job_runs
          WHERE state = 'queued' AND updated_at < now() - p_older_than
          ORDER BY updated_at LIMIT p_limit $$;

REVOKE ALL ON FUNCTION invitation_org_by_token_hash(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION job_run_counts() FROM PUBLIC;
REVOKE ALL ON FUNCTION stale_queued_jobs(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invitation_org_by_token_hash(bytea) TO insights_app;
GRANT EXECUTE ON FUNCTION job_run_counts() TO insights_app;
GRANT EXECUTE ON FUNCTION stale_queued_jobs(interval, integer) TO insights_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, organizations, memberships, invitations, refresh_tokens, audit_events, job_runs, feedback
    TO insights_app;
