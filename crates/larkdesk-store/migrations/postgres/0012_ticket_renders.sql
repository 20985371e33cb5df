-- The GET /tickets/:id form of each ticket, rendered by the write that last changed it, so that a
-- read is one row instead of the projection, its people's profiles and a JSON rendering.
-- `directory_version` is the tenant's at rendering: a profile change since (below) makes the
-- render stale, and readers then build the ticket from the projection as before.
CREATE TABLE ticket_renders (
    ticket_id         BIGINT PRIMARY KEY REFERENCES tickets(ticket_id),
    helpdesk_id       BIGINT NOT NULL,
    directory_version BIGINT NOT NULL,
    body              TEXT NOT NULL
);

-- Bumped whenever a person's profile as a ticket shows it changes (new people do not bump it:
-- no render names someone who was not in the directory).
ALTER TABLE tenants ADD COLUMN directory_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION users_profile_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET directory_version = directory_version + 1 WHERE id IN (OLD.tenant_id, NEW.tenant_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_profile_changed AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.avatar_url IS DISTINCT FROM NEW.avatar_url
  OR OLD.email IS DISTINCT FROM NEW.email OR OLD.department IS DISTINCT FROM NEW.department
  OR OLD.city IS DISTINCT FROM NEW.city OR OLD.country IS DISTINCT FROM NEW.country
  OR OLD.open_id IS DISTINCT FROM NEW.open_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
EXECUTE FUNCTION users_profile_changed();
