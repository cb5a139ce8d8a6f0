-- enable_tenant_rls(table): the second wall of a new tenant table in one call, so each later migration does
-- not copy the three statements (and cannot get the policy subtly wrong). It enables and forces row-level
-- security and creates the standard policy `<table>_tenant`, the same as every tenant table above has: rows
-- are visible and writable only where org_id = app_org_id(), the organization of the current transaction.
--
-- On a partitioned table it does the same on the parent and on every partition that exists then: queries
-- through the parent use the parent's policies, a partition read by name uses its own. A partition created
-- later gets no row-level security from its parent: call the function on it (or on the parent again — the
-- policy is replaced, so a second call is harmless).
--
-- SECURITY INVOKER: only the owner of the table (the role that runs the migrations) can change it.
CREATE FUNCTION enable_tenant_rls(tbl regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
DECLARE
    rel regclass;
    policy name;
BEGIN
    FOR rel IN SELECT tbl UNION SELECT relid FROM pg_partition_tree(tbl) LOOP
        policy := (SELECT relname FROM pg_class WHERE oid = rel) || '_tenant';
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', rel);
        IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = rel AND polname = policy) THEN
            EXECUTE format('DROP POLICY %I ON %s', policy, rel);
        END IF;
        EXECUTE format('CREATE POLICY %I ON %s USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())',
                       policy, rel);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION enable_tenant_rls(regclass) FROM PUBLIC;
