#!/usr/bin/env bash
# The user read on the request path (docs/performance.md, "The user read on
# the request path"): several builds of rolegate side by side with the
# bare-Gin baseline and OPA's server, on bench/peers's questions and tokens,
# in one run on one PostgreSQL database. Each run asks, in a turn that
# rotates between the builds: the rotating question set over HTTP (rolegate's
# POST /v1/authz/check and OPA's allow, at each of CONNECTIONS), then the
# cold-token runs (GET /me/ and the check, each request a different user's
# new token, against the baseline's GET /me/). Prints bench/peers's RESULT
# lines and the load average during the run.
#
#   BINS="before=/tmp/rolegate-main after=" bench/userread.sh   # "" builds this tree
#   COLD_ONLY=1 RUNS=3 BINS="..." bench/userread.sh              # only the cold-token runs
#
# Settings (environment): BINS (name=path ...; required), RUNS (3), DURATION
# (8s per HTTP timing), CONNECTIONS ("64 8"), COLD_SIZE (10000 users and
# tokens per cold run), PPROF (1: each build's pprof listener on the port
# 100 above its own), PG_URL (postgres://postgres@127.0.0.1:5432; a fresh
# database is created and dropped). Builds listen on 127.0.0.1:18301 and
# up, the baseline on 18290, OPA on 18281; everything on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BINS:?set BINS, e.g. BINS=\"before=/tmp/rolegate-main after=\"}"
RUNS=${RUNS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64 8}
COLD_SIZE=${COLD_SIZE:-10000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}

work=$(mktemp -d)
pgdb="rolegate_userread_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

echo "== build (into $work)" >&2
names=()
declare -A bin
for nb in $BINS; do
  n=${nb%%=*} p=${nb#*=}
  if [ -z "$p" ]; then p="$work/rolegate-$n" && go build -o "$p" ./cmd/rolegate; fi
  names+=("$n") && bin[$n]=$p
done
go build -o "$work/baseline" ./bench/baseline
(cd bench/peers && go build -o "$work/peers" ./cmd/peers && go build -o "$work/opa" github.com/open-policy-agent/opa)

echo "== database, users, questions, tokens" >&2
psql "$PG_URL/postgres" -qc "CREATE DATABASE $pgdb" >/dev/null
export ROLEGATE_DATABASE_URL="$PG_URL/$pgdb?sslmode=disable" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" \
  ROLEGATE_LOG_LEVEL=warn ROLEGATE_ACCESS_TTL=2h
first=${bin[${names[0]}]}
"$first" keys init >&2
"$first" migrate up >&2
"$work/peers" prepare -out "$work/set" -n 10000 -users 10000 -cold-runs "$RUNS" -cold-size "$COLD_SIZE" >&2
"$first" users import "$work/set/users.csv" >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; exit 1; }
# The directory's tenants, memberships and groups, where bench/peers's set
# has them (as bench/peers/run.sh imports them).
if [ -e "$work/set/tenants.json" ]; then
  "$first" users import "$work/set/tenants.json" >>"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; exit 1; }
fi
"$work/peers" tokens -dir "$work/set"

( for _ in $(seq 1 2000); do cut -d' ' -f1 /proc/loadavg >> "$work/load.txt"; sleep 5; done ) & pids+=("$!")

echo "== servers" >&2
"$work/baseline" -addr 127.0.0.1:18290 -keys "$ROLEGATE_JWT_KEY_FILE" -model policy/model.conf -policy policy/policy.csv & pids+=("$!")
"$work/opa" run --server --addr 127.0.0.1:18281 --log-level error --skip-version-check \
  --optimize-store-for-read-speed bench/peers/policy/rolegate.rego "$work/set/opa/data.json" & pids+=("$!")
declare -A url
port=18300
for n in "${names[@]}"; do
  port=$((port + 1))
  pprof=""
  [ "${PPROF:-}" = 1 ] && pprof=127.0.0.1:$((port + 100))
  ROLEGATE_ADDR=127.0.0.1:$port ROLEGATE_PPROF_ADDR=$pprof "${bin[$n]}" serve >"$work/$n.log" 2>&1 & pids+=("$!")
  url[$n]=http://127.0.0.1:$port
  wait_ready "${url[$n]}/readyz"
done
wait_ready http://127.0.0.1:18290/healthz
wait_ready http://127.0.0.1:18281/health

echo "== same answers first" >&2
for n in "${names[@]}"; do "$work/peers" agree -kind rolegate -url "${url[$n]}" -dir "$work/set" >&2; done
"$work/peers" agree -kind opa -url http://127.0.0.1:18281 -dir "$work/set" >&2

# wrk_run NAME URL SCRIPT REQUESTS CONNECTIONS DURATION
wrk_run() {
  local t=$(( $5 < 2 ? $5 : 2 ))
  BENCH_NAME="$1" BENCH_REQUESTS="$4" BENCH_THREADS=$t \
    wrk -t"$t" -c"$5" -d"$6" --timeout 10s -s "bench/peers/wrk/$3" "$2" 2>/dev/null | grep '^RESULT'
}

echo "== timed" >&2
for run in $(seq 1 "$RUNS"); do
  r=$((run - 1)) k=$(( (run - 1) % ${#names[@]} ))
  order=("${names[@]:k}" "${names[@]:0:k}")
  if [ -z "${COLD_ONLY:-}" ]; then
    for c in $CONNECTIONS; do
      wrk_run "http c=$c opa" http://127.0.0.1:18281 rotate.lua "$work/set/opa.req" "$c" "$DURATION"
      for n in "${order[@]}"; do wrk_run "http c=$c $n" "${url[$n]}" rotate.lua "$work/set/rolegate.req" "$c" "$DURATION"; done
    done
  fi
  wrk_run "cold baseline GET /me/" http://127.0.0.1:18290 once.lua "$work/set/cold-base-$r.req" 64 6s
  for n in "${order[@]}"; do wrk_run "cold GET /me/ $n" "${url[$n]}" once.lua "$work/set/cold-me-$r.req" 64 6s; done
  for n in "${order[@]}"; do wrk_run "cold check $n" "${url[$n]}" once.lua "$work/set/cold-check-$r.req" 64 6s; done
done
echo "load average (1 min) during the run, every 5 s: $(sort -n "$work/load.txt" | awk '{a[NR]=$1} END {printf "min %s, median %s, max %s over %d samples", a[1], a[int((NR+1)/2)], a[NR], NR}')"
