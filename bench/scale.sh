#!/usr/bin/env bash
# Scale test: GET /v1/users?limit=50 on PostgreSQL with USERS (1,000,000)
# users, with search= and a deep cursor. The users are loaded with COPY,
# all with one precomputed argon2id hash. Prints wrk's figures per query
# and the EXPLAIN ANALYZE plan of each query the store runs.
#
#   bench/scale.sh                  # into a fresh database, dropped at the end
#   USERS=100000 DURATION=5s bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PASSWORD='bench-password-correct-horse'
PORT=18082

command -v wrk >/dev/null || { if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi; }
work=$(mktemp -d)
db="rolegate_scale_$$"
rg=
cleanup() {
  [ -n "$rg" ] && kill "$rg" 2>/dev/null && wait "$rg" 2>/dev/null
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/rolegate" ./cmd/rolegate
go build -o "$work/loadtool" ./bench/loadtool
psql "$PG_URL/postgres" -qc "CREATE DATABASE $db"
export ROLEGATE_DATABASE_URL="$PG_URL/$db?sslmode=disable" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" ROLEGATE_LOG_LEVEL=warn
"$work/rolegate" migrate up
start=$(date +%s)
"$work/loadtool" users -copy -n "$USERS" -password "$PASSWORD" -out "$work/users.csv"
# VACUUM also moves the GIN indexes' pending entries (COPY fills them) into the
# index proper, as autovacuum would in time.
psql "$PG_URL/$db" -v ON_ERROR_STOP=1 -q <<SQL
\\copy users ($("$work/loadtool" copy-columns)) FROM '$work/users.csv' WITH (FORMAT csv)
ALTER TABLE users ALTER COLUMN id RESTART WITH $((USERS + 1));
VACUUM ANALYZE users;
SQL
echo "seeded $USERS users in $(( $(date +%s) - start ))s" >&2

ROLEGATE_ADDR=127.0.0.1:$PORT "$work/rolegate" serve 2>"$work/rolegate.log" &
rg=$!
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break; sleep 0.1; done
"$work/loadtool" tokens -url "http://127.0.0.1:$PORT" -username benchadmin -password "$PASSWORD" -n 1 -out "$work/admin"
admin=$(cat "$work/admin.access")

deep=$(printf '%s' "$((USERS - 1000))" | base64 | tr '+/' '-_' | tr -d '=')
mid=$(printf '%s' "$((USERS / 2))" | base64 | tr '+/' '-_' | tr -d '=')
# name|query string|the pattern and cursor the store uses, for EXPLAIN
queries=(
  "first page|limit=50|0|"
  "deep cursor|limit=50&cursor=$deep|$((USERS - 1000))|"
  "search, one match|limit=50&search=user0765432|0|%user0765432%"
  "search, 1,000 matches|limit=50&search=user0999|0|%user0999%"
  "search, no match|limit=50&search=nosuchuser|0|%nosuchuser%"
  "search, every row, deep cursor|limit=50&search=example&cursor=$mid|$((USERS / 2))|%example%"
)
for q in "${queries[@]}"; do
  IFS='|' read -r name qs after pattern <<<"$q"
  BENCH_NAME="users $name" BENCH_TOKEN=$admin wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s \
    -s bench/wrk/get.lua "http://127.0.0.1:$PORT/v1/users?$qs" | grep '^RESULT' >> "$work/results.txt"
done
"$work/loadtool" table "$work/results.txt"
echo
for q in "${queries[@]}"; do
  IFS='|' read -r name qs after pattern <<<"$q"
  where="id > $after"
  [ -n "$pattern" ] && where="$where AND (username_key LIKE '$pattern' ESCAPE '\\' OR LOWER(email) LIKE '$pattern' ESCAPE '\\')"
  echo "== $name: ?$qs"
  psql "$PG_URL/$db" -qAt -c "EXPLAIN (ANALYZE, BUFFERS off, COSTS off) SELECT * FROM users WHERE $where ORDER BY id LIMIT 50"
  echo
done
