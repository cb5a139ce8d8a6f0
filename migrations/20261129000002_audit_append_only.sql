-- The audit log is append-only for the application: entries are written and read, never changed or removed
-- (a compromised or buggy API process must not be able to cover its tracks). Retention, if one is ever
-- needed, is a job of the migration role.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM insights_app;
