-- A message row takes the row id of its event (the Message event of the ticket's log it was
-- projected from) and loses its own per-ticket index: a ticket's messages are found through its
-- log's (ticket_id, seq) index, joined by row id. That index took a random page per message
-- post, as the log's index does; a post now writes one such page instead of two. Every message
-- has its event (messages are projected from the log), found by its message id; a row without
-- one is not in the log, and is deleted, as `rebuild-projections` would delete it. Ids move
-- through negative values so that no two rows ever share one.
ALTER TABLE ticket_messages ALTER COLUMN id DROP IDENTITY;
DROP INDEX ticket_messages_by_ticket;
DELETE FROM ticket_messages m
WHERE NOT EXISTS (
    SELECT 1 FROM ticket_events e
    WHERE e.ticket_id = m.ticket_id
      AND e.event::jsonb ->> 'kind' = 'message'
      AND e.event::jsonb ->> 'message_id' = m.message_id);
UPDATE ticket_messages m SET id = -e.id
FROM ticket_events e
WHERE e.ticket_id = m.ticket_id
  AND e.event::jsonb ->> 'kind' = 'message'
  AND e.event::jsonb ->> 'message_id' = m.message_id;
UPDATE ticket_messages SET id = -id WHERE id < 0;
ALTER TABLE ticket_messages ADD CONSTRAINT ticket_messages_id_fkey FOREIGN KEY (id) REFERENCES ticket_events(id);
