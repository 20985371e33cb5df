-- A message row takes the row id of its event (the Message event of the ticket's log it was
-- projected from) and loses its own per-ticket index: a ticket's messages are found through its
-- log's (ticket_id, seq) index, joined by row id. That index took a random page of the file per
-- message post, as the log's index does; a post now writes one such page instead of two.
-- SQLite changes a primary key only by rebuilding the table; the statements below run in the
-- migration's one transaction. Every message has its event (messages are projected from the
-- log), found by its message id; a row without one is not in the log, and is left out, as
-- `rebuild-projections` would leave it out.
CREATE TABLE ticket_messages_new (
    id          INTEGER PRIMARY KEY REFERENCES ticket_events(id),
    ticket_id   INTEGER NOT NULL REFERENCES tickets(ticket_id),
    message_id  TEXT NOT NULL UNIQUE,
    event_id    TEXT NOT NULL,
    msg_type    TEXT NOT NULL,
    content     TEXT NOT NULL,
    sender_type INTEGER NOT NULL,
    sender_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    position    INTEGER NOT NULL
);
INSERT INTO ticket_messages_new (
    id, ticket_id, message_id, event_id, msg_type, content, sender_type, sender_id, created_at, position)
SELECT e.id, m.ticket_id, m.message_id, m.event_id, m.msg_type, m.content, m.sender_type, m.sender_id,
       m.created_at, m.position
FROM ticket_messages m JOIN ticket_events e
  ON e.ticket_id = m.ticket_id
 AND json_extract(e.event, '$.kind') = 'message'
 AND json_extract(e.event, '$.message_id') = m.message_id
ORDER BY e.id;
DROP TABLE ticket_messages;
ALTER TABLE ticket_messages_new RENAME TO ticket_messages;
