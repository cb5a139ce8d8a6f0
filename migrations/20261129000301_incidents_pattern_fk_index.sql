-- Deleting a pattern (a merge, or refinement folding patterns that converged) sets `incidents.pattern_id` to
-- NULL through the foreign key, which looks incidents up by `pattern_id` alone: `incidents_org_pattern_idx`
-- leads with `org_id`, so without this index every deleted pattern would scan all incidents.
CREATE INDEX incidents_pattern_idx ON incidents (pattern_id) WHERE pattern_id IS NOT NULL;
