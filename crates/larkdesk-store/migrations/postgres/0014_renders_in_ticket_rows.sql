-- Each ticket's GET /tickets/:id render (0012) moves into the ticket's own row: a change writes
-- the row anyway, and a separate table cost every message post one more row and index entry to
-- write. `render_directory_version` is the tenant's directory version at rendering, as
-- `ticket_renders.directory_version` was; both NULL for a ticket not rendered yet (read from
-- its projection, as before).
ALTER TABLE tickets ADD COLUMN render_directory_version BIGINT, ADD COLUMN render TEXT;
UPDATE tickets t SET render_directory_version = r.directory_version, render = r.body
FROM ticket_renders r WHERE r.ticket_id = t.ticket_id;
DROP TABLE ticket_renders;
