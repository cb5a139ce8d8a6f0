-- A timeline entry belongs to an incident of its own organization. One foreign key on (org_id, incident_id)
-- says so, replacing one on org_id and one on incident_id, which let an entry of one organization point at an
-- incident of another (the foreign key check does not go through row-level security). It also makes each new
-- entry pay one check instead of two, the largest part of storing a timeline, and lets deleting an incident
-- find its entries by the (org_id, incident_id, ...) indexes, where incident_id alone had none and every
-- cascade scanned the whole table.
ALTER TABLE incidents ADD CONSTRAINT incidents_org_id_id_key UNIQUE (org_id, id);

ALTER TABLE incident_events
    DROP CONSTRAINT incident_events_org_id_fkey,
    DROP CONSTRAINT incident_events_incident_id_fkey,
    ADD CONSTRAINT incident_events_incident_fkey FOREIGN KEY (org_id, incident_id)
        REFERENCES incidents (org_id, id) ON DELETE CASCADE;
