-- The version of an organization's set of pattern templates, apart from `version` (bumped on every change of
-- assignments, so on nearly every store): the store pipeline keeps a matcher of the templates in memory per
-- organization and rebuilds it only when this changes — when a store made a new template, a refinement ran,
-- or a person merged patterns or moved an incident.
ALTER TABLE pattern_state ADD COLUMN templates_version bigint NOT NULL DEFAULT 0;
