-- What a change needs besides the ticket's projection to apply only its new events (the
-- replay's state and the event, message and comment counts: larkdesk_domain::log::LogState, as
-- JSON). NULL for tickets written before: their next change replays the whole log once and
-- stores it (`larkdesk admin rebuild-projections` fills every ticket at once).
ALTER TABLE tickets ADD COLUMN log_state TEXT;
