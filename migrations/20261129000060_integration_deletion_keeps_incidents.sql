-- Disconnecting an integration while keeping its incidents unlinks them in batches in the background (the
-- `delete_integration` job), like deleting them does: one statement over a large history would outlast the
-- API's statement timeout. The choice is kept with the integration while it is being deleted.
ALTER TABLE integrations ADD COLUMN deleting_keeps_incidents boolean NOT NULL DEFAULT false;
