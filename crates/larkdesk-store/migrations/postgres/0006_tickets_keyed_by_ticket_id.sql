-- Tickets keyed by their public ticket_id, as in SQLite since its 0006: the internal tickets.id
-- goes, ticket_id becomes the primary key, and the event log and the messages point at the
-- public id, so both backends keep one schema and run the same queries. Here the tables are
-- altered in place rather than copied. The statements below run in the migration's one
-- transaction, so an interrupted upgrade leaves the database as it was.
--
-- The children's foreign keys and ticket_events' UNIQUE (ticket_id, seq) go first: an internal
-- id rewritten to a public id can equal another ticket's internal id not yet rewritten (imports
-- choose any digits), which would collide mid-UPDATE. They come back, with PostgreSQL's default
-- names as before, once every row holds its public id.
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_ticket_id_fkey;
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_ticket_id_seq_key;
ALTER TABLE ticket_messages DROP CONSTRAINT ticket_messages_ticket_id_fkey;

UPDATE ticket_events e SET ticket_id = t.ticket_id FROM tickets t WHERE t.id = e.ticket_id;
UPDATE ticket_messages m SET ticket_id = t.ticket_id FROM tickets t WHERE t.id = m.ticket_id;

-- Dropping id also drops its identity sequence. The UNIQUE constraint's index on ticket_id
-- cannot be handed to the primary key (PRIMARY KEY USING INDEX refuses an index that already
-- backs a constraint), so the key's index is built anew. The list indexes keep their trailing
-- ticket_id: unlike SQLite's, PostgreSQL's heap is not ordered by the primary key.
ALTER TABLE tickets DROP CONSTRAINT tickets_pkey;
ALTER TABLE tickets DROP COLUMN id;
ALTER TABLE tickets DROP CONSTRAINT tickets_ticket_id_key;
ALTER TABLE tickets ADD CONSTRAINT tickets_pkey PRIMARY KEY (ticket_id);

ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_ticket_id_seq_key UNIQUE (ticket_id, seq);
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_ticket_id_fkey
    FOREIGN KEY (ticket_id) REFERENCES tickets(ticket_id);
ALTER TABLE ticket_messages ADD CONSTRAINT ticket_messages_ticket_id_fkey
    FOREIGN KEY (ticket_id) REFERENCES tickets(ticket_id);
