-- Message event ids lose their unique index. An event id is derived from its message's id (a
-- SHA-256 digest: larkdesk_domain::ids::message_event_id), so it is as unique as the message id,
-- which keeps its index; and it is only ever looked up within its ticket (answer_user_query
-- names both), which the ticket's message index serves. Kept, that index took a random page
-- per message post.
ALTER TABLE ticket_messages DROP CONSTRAINT ticket_messages_event_id_key;
