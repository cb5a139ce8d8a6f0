-- `rotate-secret-key` also re-seals the secrets of automations (issue 13): an AWS connection's access key pair
-- and an automation's Slack / webhook URL and signing secret. The organizations holding any, as before.
CREATE OR REPLACE FUNCTION orgs_with_sealed_secrets()
    RETURNS TABLE (org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT org_id FROM integrations
          UNION
          SELECT org_id FROM invitations WHERE token_ciphertext IS NOT NULL
          UNION
          SELECT org_id FROM aws_connections WHERE credentials IS NOT NULL
          UNION
          SELECT org_id FROM automations WHERE secrets IS NOT NULL
          ORDER BY 1 $$;
