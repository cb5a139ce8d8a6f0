-- Recurring patterns (issue 11): every incident of an organization belongs to at most one pattern, a group of
-- incidents whose titles share a template ("High latency on <service> (p99 > <duration>)"). The engine is the
-- pure crate `insights-patterns`; this is what the product keeps of its answers and of people's corrections.
--
-- - `patterns`: a pattern, its stable id, a person's name for it, muted or not, and the figures kept by the
--   store pipeline and by refinement (count, first and last seen, example titles).
-- - `pattern_templates`: the templates that assign incidents to a pattern. `origin = 'mined'` ones are the
--   engine's and are replaced by each refinement; `merge` and `move` ones are people's corrections (a merged
--   pattern's templates, an incident's title moved by hand) and survive every refinement: they are matched
--   first, so future incidents follow the correction too.
-- - `pattern_aliases`: the ids of patterns merged away (by a person or by refinement), answering as the pattern
--   they went into, so links and bookmarks keep working.
-- - `incidents.pattern_id`: the assignment. `pattern_pinned` marks an incident moved by a person: refinement
--   leaves it where it was put. `pattern_score` is the title's similarity to the template when assigned.
-- - `pattern_pairs`: co-occurrence. How many times incidents of two patterns (of different services) started
--   within a few minutes of each other, counted by refinement.
-- - `pattern_state`: per organization, `version` (bumped on every change of assignments or patterns), when it
--   was last refined, by which job, and how many incidents arrived since.

CREATE TABLE patterns (
    id             uuid        PRIMARY KEY,
    org_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- A person's name for it; NULL: it is called by its template.
    name           text,
    -- The display text of its main template (the engine's `Template` text form).
    template       text        NOT NULL,
    muted          boolean     NOT NULL DEFAULT false,
    -- Renamed, merged into, created by a move, or linked (runbooks, automations): refinement keeps its id and
    -- never deletes it, even when no incident is left in it.
    pinned         boolean     NOT NULL DEFAULT false,
    incident_count bigint      NOT NULL DEFAULT 0,
    first_seen     timestamptz,
    last_seen      timestamptz,
    -- Up to five distinct example titles.
    examples       jsonb       NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patterns_name_check CHECK (name IS NULL OR length(name) BETWEEN 1 AND 200),
    CONSTRAINT patterns_examples_check CHECK (jsonb_typeof(examples) = 'array')
);
CREATE INDEX patterns_org_last_seen_idx ON patterns (org_id, last_seen DESC, id DESC);
SELECT enable_tenant_rls('patterns');
GRANT SELECT, INSERT, UPDATE, DELETE ON patterns TO insights_app;

CREATE TABLE pattern_templates (
    id         uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pattern_id uuid        NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
    -- The template's text form: one template belongs to one pattern of an organization.
    template   text        NOT NULL,
    origin     text        NOT NULL,
    created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pattern_templates_key UNIQUE (org_id, template),
    CONSTRAINT pattern_templates_origin_check CHECK (origin IN ('mined', 'merge', 'move'))
);
CREATE INDEX pattern_templates_pattern_idx ON pattern_templates (pattern_id);
SELECT enable_tenant_rls('pattern_templates');
GRANT SELECT, INSERT, UPDATE, DELETE ON pattern_templates TO insights_app;

CREATE TABLE pattern_aliases (
    alias_id   uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pattern_id uuid        NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pattern_aliases_pattern_idx ON pattern_aliases (pattern_id);
SELECT enable_tenant_rls('pattern_aliases');
GRANT SELECT, INSERT, UPDATE, DELETE ON pattern_aliases TO insights_app;

ALTER TABLE incidents
    ADD COLUMN pattern_id     uuid REFERENCES patterns (id) ON DELETE SET NULL,
    ADD COLUMN pattern_score  real,
    ADD COLUMN pattern_pinned boolean NOT NULL DEFAULT false;
CREATE INDEX incidents_org_pattern_idx ON incidents (org_id, pattern_id, triggered_at DESC);

CREATE TABLE pattern_pairs (
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- pattern_a < pattern_b
    pattern_a  uuid        NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
    pattern_b  uuid        NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
    together   bigint      NOT NULL,
    last_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pattern_pairs_pkey PRIMARY KEY (org_id, pattern_a, pattern_b),
    CONSTRAINT pattern_pairs_order_check CHECK (pattern_a < pattern_b)
);
CREATE INDEX pattern_pairs_b_idx ON pattern_pairs (org_id, pattern_b);
SELECT enable_tenant_rls('pattern_pairs');
GRANT SELECT, INSERT, UPDATE, DELETE ON pattern_pairs TO insights_app;

CREATE TABLE pattern_state (
    org_id          uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version         bigint      NOT NULL DEFAULT 0,
    -- Incidents assigned by the store pipeline since the last refinement (what makes one due).
    pending         bigint      NOT NULL DEFAULT 0,
    refined_at      timestamptz,
    refine_job_id   uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pattern_state_pkey PRIMARY KEY (org_id)
);
SELECT enable_tenant_rls('pattern_state');
GRANT SELECT, INSERT, UPDATE, DELETE ON pattern_state TO insights_app;
