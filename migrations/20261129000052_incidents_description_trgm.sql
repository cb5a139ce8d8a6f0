-- no-transaction
-- Text search on incident descriptions (`description ILIKE '%…%'`), like 20261129000051 for titles.
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_description_trgm_idx
    ON incidents USING gin (description gin_trgm_ops);
