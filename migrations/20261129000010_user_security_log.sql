-- Each person's own security log: their logins, failed logins and password changes. A login is not an act
-- inside one organization (an access token serves every organization of the user), so it is no longer written
-- into organizations' audit logs, where it told one organization's admins that the user is active elsewhere
-- (and in how many organizations). Not tenant data: one user reads their own rows (row-level security by
-- app_user_id(), forced), and the application only appends (like audit_events).
CREATE TABLE user_security_events (
    id         uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action     text        NOT NULL,
    ip         inet,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_security_events_pkey PRIMARY KEY (id),
    CONSTRAINT user_security_events_action_check CHECK (action <> '')
);
CREATE INDEX user_security_events_user_created_idx
    ON user_security_events (user_id, created_at DESC, id DESC);
ALTER TABLE user_security_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_security_events FORCE ROW LEVEL SECURITY;
CREATE POLICY user_security_events_own ON user_security_events
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT ON user_security_events TO insights_app;
