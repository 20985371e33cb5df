-- Tickets are found by update time through the hour of their update (`updated_hour`: updated_at
-- in ms divided by 3,600,000, rounded down), not through updated_at itself. Every change to a
-- ticket sets its updated_at, so an index on it moved the ticket's entry on every message post:
-- a delete at the entry's old place, a random page of the index, written to the log and copied
-- back by the checkpointer (about one page in three a post writes at a million tickets). The
-- hour changes once an hour at most while a ticket is worked on, and the store sets it only
-- then (`rows::projection_values`). A list filtered by update time reads the hours its range
-- touches, then keeps the tickets whose updated_at is in the range.
ALTER TABLE tickets ADD COLUMN updated_hour BIGINT;
UPDATE tickets SET updated_hour = (updated_at - (CASE WHEN updated_at % 3600000 < 0 THEN 3600000 ELSE 0 END)) / 3600000
WHERE updated_at IS NOT NULL;
DROP INDEX tickets_by_helpdesk_updated;
CREATE INDEX tickets_by_helpdesk_update_hour ON tickets (helpdesk_id, updated_hour);
-- Statistics for the new column, so that the planner weighs the new index from the start.
ANALYZE tickets;
