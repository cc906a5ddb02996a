-- +goose Up
-- GET /v1/audit lists events newest first by event time, ties broken by
-- id, and its cursor is the (at, id) of the last event of a page: replicas
-- write their events in batches, so ids alone are not in time order. These
-- indexes serve that order, alone and under the actor and action filters,
-- and replace the id-ordered ones of 0002. The retention purge deletes the
-- oldest events through audit_events_at_id too.
DROP INDEX audit_events_actor_id_id;
DROP INDEX audit_events_action_id;
DROP INDEX audit_events_at;
CREATE INDEX audit_events_at_id ON audit_events (at, id);
CREATE INDEX audit_events_actor_id_at_id ON audit_events (actor_id, at, id);
CREATE INDEX audit_events_action_at_id ON audit_events (action, at, id);
-- An aggregate event (the denials of anonymous callers, throttled
-- requests) stands for count occurrences, from first_at to at; any other
-- event is one. first_at is NULL on events written before this migration,
-- which are read as first_at = at. Neither column needs a table rewrite.
ALTER TABLE audit_events ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN first_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE audit_events DROP COLUMN first_at;
ALTER TABLE audit_events DROP COLUMN count;
DROP INDEX audit_events_at_id;
DROP INDEX audit_events_actor_id_at_id;
DROP INDEX audit_events_action_at_id;
CREATE INDEX audit_events_actor_id_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);
