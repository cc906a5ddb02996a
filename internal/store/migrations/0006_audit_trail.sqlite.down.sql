ALTER TABLE audit_events DROP COLUMN first_at;
ALTER TABLE audit_events DROP COLUMN count;
DROP INDEX audit_events_at_id;
DROP INDEX audit_events_actor_id_at_id;
DROP INDEX audit_events_action_at_id;
CREATE INDEX audit_events_actor_id_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);
