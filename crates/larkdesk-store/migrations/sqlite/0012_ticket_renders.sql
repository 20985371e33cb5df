-- The GET /tickets/:id form of each ticket, rendered by the write that last changed it, so that a
-- read is one row instead of the projection, its people's profiles and a JSON rendering.
-- `directory_version` is the tenant's at rendering: a profile change since (below) makes the
-- render stale, and readers then build the ticket from the projection as before.
CREATE TABLE ticket_renders (
    ticket_id         INTEGER PRIMARY KEY REFERENCES tickets(ticket_id),
    helpdesk_id       INTEGER NOT NULL,
    directory_version INTEGER NOT NULL,
    body              TEXT NOT NULL
);

-- Bumped whenever a person's profile as a ticket shows it changes (new people do not bump it:
-- no render names someone who was not in the directory).
ALTER TABLE tenants ADD COLUMN directory_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER users_profile_changed AFTER UPDATE ON users
WHEN OLD.name IS NOT NEW.name OR OLD.avatar_url IS NOT NEW.avatar_url OR OLD.email IS NOT NEW.email
  OR OLD.department IS NOT NEW.department OR OLD.city IS NOT NEW.city OR OLD.country IS NOT NEW.country
  OR OLD.open_id IS NOT NEW.open_id OR OLD.tenant_id IS NOT NEW.tenant_id
BEGIN
    UPDATE tenants SET directory_version = directory_version + 1 WHERE id IN (OLD.tenant_id, NEW.tenant_id);
END;
