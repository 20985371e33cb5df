-- Each ticket's GET /tickets/:id render (0012) moves into the ticket's own row: a change writes
-- the row anyway, and a separate table cost every message post one more random page of the
-- file (written to the log, then to the file at a checkpoint). `render_directory_version` is
-- the tenant's directory version at rendering, as `ticket_renders.directory_version` was; both
-- NULL for a ticket not rendered yet (read from its projection, as before).
ALTER TABLE tickets ADD COLUMN render_directory_version INTEGER;
ALTER TABLE tickets ADD COLUMN render TEXT;
UPDATE tickets SET render_directory_version = r.directory_version, render = r.body
FROM ticket_renders r WHERE r.ticket_id = tickets.ticket_id;
DROP TABLE ticket_renders;
