-- Every API process keeps in memory what each authenticated request asks (is this session live, this user's
-- role in this organization, `GET /me`), and forgets it when PostgreSQL says it changed: these triggers send
-- one notification per change on the channel `insights_auth_changes` (backend/src/auth/cache.rs). A
-- notification is delivered when its transaction commits, and identical ones of one transaction once.

CREATE FUNCTION notify_auth_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    changes json[];
    change json;
BEGIN
    -- (Each table in its own branch: PL/pgSQL resolves every field an expression names, taken or not.)
    IF TG_TABLE_NAME = 'refresh_tokens' THEN
        changes := ARRAY[json_build_object('kind', 'session', 'family', OLD.family_id)];
        IF TG_OP = 'UPDATE' THEN
            changes := changes || json_build_object('kind', 'session', 'family', NEW.family_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'memberships' THEN
        -- An insert has no OLD, a delete no NEW; an update may move the row: both pairs changed.
        IF TG_OP <> 'INSERT' THEN
            changes := ARRAY[json_build_object('kind', 'member', 'org', OLD.org_id, 'user', OLD.user_id)];
        END IF;
        IF TG_OP <> 'DELETE' THEN
            changes := coalesce(changes, ARRAY[]::json[])
                || json_build_object('kind', 'member', 'org', NEW.org_id, 'user', NEW.user_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'users' THEN
        changes := ARRAY[json_build_object('kind', 'user', 'user', OLD.id)];
    ELSIF TG_TABLE_NAME = 'organizations' THEN
        changes := ARRAY[json_build_object('kind', 'org', 'org', OLD.id)];
    END IF;
    FOREACH change IN ARRAY changes LOOP
        PERFORM pg_notify('insights_auth_changes', change::text);
    END LOOP;
    RETURN NULL;
END $$;

-- A session ends by revocation or deletion (its expiry is the cache's own lifetime); rotating a refresh token
-- (`used_at`) changes nothing an access token's check reads.
CREATE TRIGGER refresh_tokens_notify_auth_change
    AFTER UPDATE OF revoked_at, expires_at, user_id, family_id ON refresh_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id
                       OR OLD.family_id IS DISTINCT FROM NEW.family_id)
    EXECUTE FUNCTION notify_auth_change();
CREATE TRIGGER refresh_tokens_notify_auth_delete
    AFTER DELETE ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change();

CREATE TRIGGER memberships_notify_auth_change
    AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change();

CREATE TRIGGER users_notify_auth_change
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change();

CREATE TRIGGER organizations_notify_auth_change
    AFTER UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change();
