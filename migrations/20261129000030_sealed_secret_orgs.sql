-- Secrets at rest are bound to their row and name their key (crates/core/src/crypto.rs). `insights-api
-- rotate-secret-key` re-seals every stored secret under the current key, one transaction per organization
-- (under row-level security like any tenant work); this narrow cross-tenant read tells it which
-- organizations hold any.
CREATE FUNCTION orgs_with_sealed_secrets()
    RETURNS TABLE (org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT org_id FROM integrations
          UNION
          SELECT org_id FROM invitations WHERE token_ciphertext IS NOT NULL
          ORDER BY 1 $$;

REVOKE ALL ON FUNCTION orgs_with_sealed_secrets() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION orgs_with_sealed_secrets() TO insights_app;
