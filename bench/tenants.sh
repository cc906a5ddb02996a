#!/usr/bin/env bash
# Tenants at scale (issue 12, "Performance"): rolegate on PostgreSQL with
# TENANTS (100,000) tenants and MEMBERSHIPS (1,000,000) memberships, one
# user ("benchuser") in SPREAD (1,000) of them, and one tenant
# (tenant-000001) with BIG (10,000) members besides. Measures, in each of
# RUNS (3) runs, POST /v1/authz/check with a tenant against the same check
# without one (the baseline, in the same run), and GET
# /v1/tenants/{slug}/members?limit=100 at 8 connections; prints the medians
# and the query plans of the per-request standing lookup and the member
# page. Uses wrk if it is installed, else "loadtool load".
#
#   bench/tenants.sh                          # into a fresh database, dropped at the end
#   RUNS=1 DURATION=5s TENANTS=10000 MEMBERSHIPS=100000 bench/tenants.sh
#
# Settings (environment): RUNS (3), DURATION (10s), CONNECTIONS (64, for
# the checks), MEMBER_CONNECTIONS (8), THREADS (2), USERS (100,000),
# TENANTS, MEMBERSHIPS, SPREAD, BIG, PG_URL (postgres://postgres@127.0.0.1:5432,
# trust auth), PORT (18084), SCENARIOS ("check members"), PPROF_ADDR and
# PROFILE_DIR (empty; with both set, a CPU profile of rolegate during each
# scenario of the first run is written to PROFILE_DIR), KEEP_DB (empty; set it to keep the database
# and print its name). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
MEMBER_CONNECTIONS=${MEMBER_CONNECTIONS:-8}
THREADS=${THREADS:-2}
USERS=${USERS:-100000}
TENANTS=${TENANTS:-100000}
MEMBERSHIPS=${MEMBERSHIPS:-1000000}
SPREAD=${SPREAD:-1000}
BIG=${BIG:-10000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18084}
SCENARIOS=${SCENARIOS:-check members}
PASSWORD='bench-password-correct-horse'

# Bounds, so that a typo cannot fill the disk: the generated memberships
# of each tenant must fit in the user pool without repeating a user.
pool=$((USERS - 2))     # users 3..USERS; 1 is benchadmin, 2 benchuser
rest=$((MEMBERSHIPS - SPREAD - BIG))
per=$(( (rest + TENANTS - 2) / (TENANTS - 1) ))   # memberships per other tenant, rounded up
if (( USERS < 1000 || USERS > 2000000 || TENANTS < SPREAD || TENANTS > 1000000 || MEMBERSHIPS > 10000000 ||
      rest < 0 || BIG > pool || per > pool || SPREAD < 1 )); then
  echo "tenants.sh: settings out of bounds (USERS=$USERS TENANTS=$TENANTS MEMBERSHIPS=$MEMBERSHIPS SPREAD=$SPREAD BIG=$BIG)" >&2
  exit 2
fi
step=$(( pool / per ))  # k*step (k < per) are distinct modulo pool

work=$(mktemp -d)
db="rolegate_tenants_$$"
rg=
cleanup() {
  [ -n "$rg" ] && kill "$rg" 2>/dev/null && wait "$rg" 2>/dev/null
  if [ -n "${KEEP_DB:-}" ]; then echo "kept database $db" >&2; else
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/rolegate" ./cmd/rolegate
go build -o "$work/loadtool" ./bench/loadtool
psql "$PG_URL/postgres" -qc "CREATE DATABASE $db"
export ROLEGATE_DATABASE_URL="$PG_URL/$db?sslmode=disable" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" ROLEGATE_LOG_LEVEL=warn
"$work/rolegate" migrate up >/dev/null
start=$(date +%s)
"$work/loadtool" users -copy -n "$USERS" -password "$PASSWORD" -out "$work/users.csv"
psql "$PG_URL/$db" -v ON_ERROR_STOP=1 -q <<SQL
\\copy users ($("$work/loadtool" copy-columns)) FROM '$work/users.csv' WITH (FORMAT csv)
ALTER TABLE users ALTER COLUMN id RESTART WITH $((USERS + 1));
INSERT INTO tenants (id, slug, name, is_active, settings, created_at)
  SELECT i, 'tenant-' || lpad(i::text, 6, '0'), 'Tenant ' || i, TRUE, '{}', '2026-01-01T00:00:00Z'
  FROM generate_series(1, $TENANTS) AS i;
ALTER TABLE tenants ALTER COLUMN id RESTART WITH $((TENANTS + 1));
-- benchuser is an admin of tenants 1..SPREAD.
INSERT INTO tenant_members (tenant_id, user_id, role, is_active, created_at)
  SELECT t, 2, 'admin', TRUE, '2026-01-01T00:00:00Z' FROM generate_series(1, $SPREAD) AS t;
-- tenant 1 has BIG more members: users 3..BIG+2, the first its owner.
INSERT INTO tenant_members (tenant_id, user_id, role, is_active, created_at)
  SELECT 1, u, CASE WHEN u = 3 THEN 'owner' ELSE 'user' END, TRUE, '2026-01-01T00:00:00Z'
  FROM generate_series(3, $BIG + 2) AS u;
-- The rest spread over tenants 2..TENANTS: the k-th member of tenant t is
-- user 3 + (t*31 + k*step) mod pool, distinct for each k < per.
INSERT INTO tenant_members (tenant_id, user_id, role, is_active, created_at)
  SELECT t, 3 + (t * 31 + k * $step) % $pool,
    CASE k WHEN 0 THEN 'owner' WHEN 1 THEN 'admin' WHEN 2 THEN 'manager' WHEN 3 THEN 'readonly' ELSE 'user' END,
    TRUE, '2026-01-01T00:00:00Z'
  FROM (SELECT 2 + g % ($TENANTS - 1) AS t, g / ($TENANTS - 1) AS k FROM generate_series(0, $rest - 1) AS g) AS s;
VACUUM ANALYZE users;
VACUUM ANALYZE tenants;
VACUUM ANALYZE tenant_members;
SQL
counts=$(psql "$PG_URL/$db" -qAt -F' ' -c "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM tenant_members), (SELECT count(*) FROM tenant_members WHERE user_id = 2), (SELECT count(*) FROM tenant_members WHERE tenant_id = 1)")
echo "seeded $USERS users, tenants/memberships/benchuser's tenants/tenant-000001's members: $counts, in $(( $(date +%s) - start ))s" >&2

ROLEGATE_ADDR=127.0.0.1:$PORT ROLEGATE_PPROF_ADDR=${PPROF_ADDR:-} "$work/rolegate" serve 2>"$work/rolegate.log" &
rg=$!
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break; sleep 0.1; done
"$work/loadtool" tokens -url "http://127.0.0.1:$PORT" -username benchuser -password "$PASSWORD" -n 1 -out "$work/user"
token=$(cat "$work/user.access")
base="http://127.0.0.1:$PORT"
mid=tenant-$(printf '%06d' $((SPREAD / 2)))

# One scenario: name, connections, method, path, body.
scenario() {
  local name=$1 conns=$2 method=$3 path=$4 body=${5:-}
  local status
  status=$(curl -s -o "$work/answer" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token" \
    ${body:+-H 'Content-Type: application/json' -d "$body"} "$base$path")
  if [ "$status" != 200 ]; then
    echo "$name: $method $path answered $status: $(head -c 300 "$work/answer")" >&2
    exit 1
  fi
  local prof=
  if [ -n "${PPROF_ADDR:-}" ] && [ -n "${PROFILE_DIR:-}" ] && [ "$run" = 1 ]; then
    mkdir -p "$PROFILE_DIR"
    curl -s -o "$PROFILE_DIR/$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '_').pprof" \
      "http://$PPROF_ADDR/debug/pprof/profile?seconds=$(( ${DURATION%s} - 1 ))" &
    prof=$!
  fi
  if command -v wrk >/dev/null; then
    local script=bench/wrk/get.lua
    [ "$method" = POST ] && script=bench/wrk/post.lua
    BENCH_NAME=$name BENCH_TOKEN=$token BENCH_BODY=$body wrk -t"$(( THREADS < conns ? THREADS : conns ))" -c"$conns" -d"$DURATION" --timeout 10s \
      -s "$script" "$base$path" | grep '^RESULT'
  else
    "$work/loadtool" load -name "$name" -connections "$conns" -duration "$DURATION" -method "$method" \
      -token "$token" -body "$body" -url "$base$path"
  fi
  if [ -n "$prof" ]; then wait "$prof"; fi
}

loader=wrk; command -v wrk >/dev/null || loader="loadtool load"
echo "load from $loader; $RUNS runs of $DURATION each" >&2
for run in $(seq 1 "$RUNS"); do
  if [[ " $SCENARIOS " == *" check "* ]]; then
    scenario "check, no tenant" "$CONNECTIONS" POST /v1/authz/check '{"resource":"customers","action":"read"}'
    scenario "check, tenant $mid" "$CONNECTIONS" POST /v1/authz/check "{\"resource\":\"customers\",\"action\":\"read\",\"tenant\":\"$mid\"}"
  fi >> "$work/results.txt"
  if [[ " $SCENARIOS " == *" members "* ]]; then
    scenario "members?limit=100, tenant-000001 ($((BIG + 1)))" "$MEMBER_CONNECTIONS" GET "/v1/tenants/tenant-000001/members?limit=100"
    scenario "members?limit=100, $mid" "$MEMBER_CONNECTIONS" GET "/v1/tenants/$mid/members?limit=100"
  fi >> "$work/results.txt"
  echo "run $run done; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
done
"$work/loadtool" table -baseline "check, no tenant" "$work/results.txt"
echo
echo "== the standing lookup (one a request on a tenant route, or a check with a tenant)"
psql "$PG_URL/$db" -qAt -c "EXPLAIN (ANALYZE, BUFFERS off, COSTS off) SELECT
  (SELECT role FROM tenant_members WHERE tenant_id = $((SPREAD / 2)) AND user_id = 2 AND is_active = TRUE) AS role,
  (SELECT MAX(mode) FROM break_glass_grants WHERE user_id = 2 AND tenant_id = $((SPREAD / 2)) AND expires_at > now() AND ended_at IS NULL) AS break_glass"
echo
echo "== a member page of tenant-000001 (the list's join, first page)"
psql "$PG_URL/$db" -qAt -c "EXPLAIN (ANALYZE, BUFFERS off, COSTS off) SELECT m.tenant_id, m.user_id, m.role, m.is_active, m.created_at, m.invited_by, u.username, u.email, u.first_name, u.last_name
  FROM tenant_members AS m JOIN users AS u ON u.id = m.user_id WHERE m.tenant_id = 1 AND m.user_id > 0 ORDER BY m.user_id LIMIT 101"
