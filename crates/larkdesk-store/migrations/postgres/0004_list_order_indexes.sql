-- GET /tickets pages in (created_at DESC, ticket_id DESC) order: with ticket_id in the status
-- index a one-status page is read straight off the index instead of sorting every match.
DROP INDEX tickets_by_helpdesk_status;
CREATE INDEX tickets_by_helpdesk_status ON tickets (helpdesk_id, status, created_at, ticket_id);
