-- GET /tickets pages in (created_at DESC, ticket_id DESC) order. With ticket_id in the index the
-- page is read straight off the index instead of sorting every matching ticket.
DROP INDEX tickets_by_helpdesk_created;
CREATE INDEX tickets_by_helpdesk_created ON tickets (helpdesk_id, created_at, ticket_id);
DROP INDEX tickets_by_helpdesk_status;
CREATE INDEX tickets_by_helpdesk_status ON tickets (helpdesk_id, status, created_at, ticket_id);
