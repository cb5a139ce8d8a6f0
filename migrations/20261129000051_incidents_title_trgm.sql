-- no-transaction
-- Text search on incident titles (`title ILIKE '%…%'`) through a trigram index (see 20261129000050). Built
-- concurrently: incidents is the largest table, and writes go on while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS incidents_title_trgm_idx ON incidents USING gin (title gin_trgm_ops);
