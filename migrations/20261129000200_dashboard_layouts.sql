-- Each person's dashboard layout (issue 10, point 4): which widgets, in which order and size. One row per
-- organization and member; none means the default layout (`DashboardLayout::default_layout()` in code), so a
-- reset deletes the row. The layout is a JSON document validated by the API (`DashboardLayout::problem`) before
-- it is stored; it goes with the membership (removing a member or deleting the organization deletes it).

CREATE TABLE dashboard_layouts (
    org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL,
    layout     jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dashboard_layouts_pkey PRIMARY KEY (org_id, user_id),
    CONSTRAINT dashboard_layouts_membership_fkey FOREIGN KEY (org_id, user_id)
        REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    CONSTRAINT dashboard_layouts_layout_check CHECK (jsonb_typeof(layout) = 'object')
);
SELECT enable_tenant_rls('dashboard_layouts');
GRANT SELECT, INSERT, UPDATE, DELETE ON dashboard_layouts TO insights_app;
