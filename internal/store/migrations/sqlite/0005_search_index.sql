-- +goose Up
-- SQLite has no trigram index; its search stays a scan. The migration
-- exists so that both dialects have the same migration list.
SELECT 1;

-- +goose Down
SELECT 1;
