-- Message event ids lose their unique index. An event id is derived from its message's id (a
-- SHA-256 digest: larkdesk_domain::ids::message_event_id), so it is as unique as the message id,
-- which keeps its index; and it is only ever looked up within its ticket (answer_user_query
-- names both), which the ticket's message index serves. Kept, that index took a random page of
-- the file per message post, with a split now and then: a fifth of the pages a post writes.
-- SQLite drops a UNIQUE column constraint only by rebuilding the table; the statements below
-- run in the migration's one transaction.
CREATE TABLE ticket_messages_new (
    id          INTEGER PRIMARY KEY,
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
SELECT id, ticket_id, message_id, event_id, msg_type, content, sender_type, sender_id, created_at, position
FROM ticket_messages ORDER BY id;
DROP TABLE ticket_messages;
ALTER TABLE ticket_messages_new RENAME TO ticket_messages;
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, created_at, id);
