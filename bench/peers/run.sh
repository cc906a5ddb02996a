#!/usr/bin/env bash
# rolegate side by side with OPA, plain Casbin and Cerbos, in one run on
# this machine (bench/peers/README.md; results in docs/performance.md,
# "Against other engines"):
#
#   1. build rolegate and the bare-Gin baseline (the product's module),
#      OPA's server and the peers tool (bench/peers's module), and Cerbos
#      (bench/peers/cerbos's module);
#   2. generate the question set; every in-process engine (rolegate's
#      Decide, OPA's prepared query, Casbin's Enforcer and
#      SyncedCachedEnforcer) must agree with rolegate on every question;
#   3. seed a fresh PostgreSQL database with the users the questions are
#      about, start rolegate, OPA, Cerbos and the baseline on 127.0.0.1, and
#      ask each server every question over HTTP: a different answer from
#      any of them fails the run and prints the question;
#   4. only then time: wrk against each server with the questions rotating,
#      at 64 and 8 connections; the cold-token runs (GET /me/ and the
#      check, every request a different user's new token, against the
#      baseline's GET /me/); the in-process engines at 10, 1,000 and 10,000
#      policy lines, and in a tenant at 1,000,000 memberships (peers
#      members);
#   5. print the tables (medians of RUNS) and the load average during the
#      run, and write the plot.
#
#   bench/peers/run.sh                 # the full run (about 15 minutes)
#   SMOKE=1 bench/peers/run.sh         # CI: small set, short timings
#
# Settings (environment): RUNS (3), DURATION (8s, each HTTP timing),
# QUESTIONS (10000), USERS (10000, the directory the questions are about),
# COLD_SIZE (10000 users and tokens per cold-token run), COLD_DURATION
# (6s: wrk's -d for a cold run, which ends when its tokens are spent),
# CONNECTIONS ("64 8"), THREADS (2), LINES ("10,1000,10000"), INPROC_N
# (2000 questions per policy size), MEMBERSHIPS (1000000, the in-process
# run in tenants), BENCHTIME (1s per in-process timing),
# CERBOS (1; 0 skips building and running Cerbos), PG_URL
# (postgres://postgres@127.0.0.1:5432; a fresh database is created and
# dropped), SVG (write the plot there, e.g. docs/peers.svg), OUT (keep the
# results there), PPROF_ADDR (expose rolegate's pprof listener) with
# PROFILE_DIR (then the first rolegate run at 64 connections also saves a
# CPU profile of it, cpu.prof, and a 2 s execution trace, trace.out), and the
# ports RG_PORT (18180), BASE_PORT (18190), OPA_PORT (18181), CERBOS_PORT
# (18182; gRPC on the next). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${SMOKE:-}" ]; then
  : "${RUNS:=1}" "${DURATION:=1s}" "${QUESTIONS:=8000}" "${USERS:=2000}" "${COLD_SIZE:=300}" "${COLD_DURATION:=2s}"
  : "${LINES:=10,1000}" "${INPROC_N:=300}" "${BENCHTIME:=100ms}" "${CONNECTIONS:=8}" "${MEMBERSHIPS:=10000}"
fi
RUNS=${RUNS:-3}
DURATION=${DURATION:-8s}
QUESTIONS=${QUESTIONS:-10000}
USERS=${USERS:-10000}
COLD_SIZE=${COLD_SIZE:-10000}
COLD_DURATION=${COLD_DURATION:-6s}
CONNECTIONS=${CONNECTIONS:-64 8}
THREADS=${THREADS:-2}
LINES=${LINES:-10,1000,10000}
INPROC_N=${INPROC_N:-2000}
MEMBERSHIPS=${MEMBERSHIPS:-1000000}
BENCHTIME=${BENCHTIME:-1s}
CERBOS=${CERBOS:-1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
RG_PORT=${RG_PORT:-18180}
BASE_PORT=${BASE_PORT:-18190}
OPA_PORT=${OPA_PORT:-18181}
CERBOS_PORT=${CERBOS_PORT:-18182}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi

work=$(mktemp -d)
pgdb="rolegate_peers_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp "$work"/{results.txt,inproc.txt,members.txt,load.txt,versions.txt,report.md} "$OUT"/ 2>/dev/null || true; fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
touch "$work/results.txt" "$work/inproc.txt" "$work/members.txt"

# wait_ready URL: poll until URL answers 200, at most 60 s.
wait_ready() {
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

echo "== build (into $work)" >&2
go build -o "$work/rolegate" ./cmd/rolegate
go build -o "$work/baseline" ./bench/baseline
# bench/peers and bench/peers/cerbos are modules of their own that replace
# rolegate with this checkout; when rolegate gains a dependency, run
# "go mod tidy" in both (the build says so).
(cd bench/peers && go build -o "$work/peers" ./cmd/peers && go build -o "$work/opa" github.com/open-policy-agent/opa)
if [ "$CERBOS" = 1 ]; then
  # Cerbos's own module: its dependencies stay out of bench/peers's.
  if ! (cd bench/peers/cerbos && go build -o "$work/cerbos" github.com/cerbos/cerbos/cmd/cerbos) 2>"$work/cerbos-build.log"; then
    echo "Cerbos did not build; running without it:" >&2
    cat "$work/cerbos-build.log" >&2
    CERBOS=0
  fi
fi
engines="rolegate opa"
[ "$CERBOS" = 1 ] && engines="$engines cerbos"

{
  echo "go: $(go version | cut -d' ' -f3-)"
  echo "rolegate: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')"
  echo "OPA: $("$work/opa" version | awk '/^Version:/ {print $2}')"
  echo "Casbin: $(cd bench/peers && go list -m -f '{{.Version}}' github.com/casbin/casbin/v2)"
  [ "$CERBOS" = 1 ] && echo "Cerbos: $(cd bench/peers/cerbos && go list -m -f '{{.Version}}' github.com/cerbos/cerbos)"
  echo "PostgreSQL: $(psql "$PG_URL/postgres" -tAc 'SHOW server_version')"
  echo "wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f2)"
  echo "CPUs: $(nproc)"
} > "$work/versions.txt"

# The load average, every 5 s, for the report: the machine is shared.
( for _ in $(seq 1 2000); do cut -d' ' -f1 /proc/loadavg >> "$work/load.txt"; sleep 5; done ) & pids+=("$!")

echo "== database, users, questions" >&2
psql "$PG_URL/postgres" -qc "CREATE DATABASE $pgdb" >/dev/null
export ROLEGATE_DATABASE_URL="$PG_URL/$pgdb?sslmode=disable" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" \
  ROLEGATE_LOG_LEVEL=warn ROLEGATE_ACCESS_TTL=2h
"$work/rolegate" keys init >&2
"$work/rolegate" migrate up >&2
"$work/peers" prepare -out "$work/set" -n "$QUESTIONS" -users "$USERS" -cold-runs "$RUNS" -cold-size "$COLD_SIZE" \
  -cerbos-http "127.0.0.1:$CERBOS_PORT" -cerbos-grpc "127.0.0.1:$((CERBOS_PORT + 1))"
"$work/rolegate" users import "$work/set/users.csv" >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; exit 1; }
# The directory's tenants, memberships and groups, as a Django export.
"$work/rolegate" users import "$work/set/tenants.json" >>"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; exit 1; }
grep -h '^tenant\|^group' "$work/import.log" >&2
# Tokens for the users as stored, signed as rolegate serve signs them.
"$work/peers" tokens -dir "$work/set"

echo "== servers" >&2
ROLEGATE_ADDR=127.0.0.1:$RG_PORT ROLEGATE_PPROF_ADDR=${PPROF_ADDR:-} "$work/rolegate" serve >"$work/rolegate.log" 2>&1 & pids+=("$!")
"$work/baseline" -addr "127.0.0.1:$BASE_PORT" -keys "$ROLEGATE_JWT_KEY_FILE" -model policy/model.conf -policy policy/policy.csv & pids+=("$!")
# OPA's documented settings for a server: no decision logs (the default),
# logging at error, data kept as AST values for reading.
"$work/opa" run --server --addr "127.0.0.1:$OPA_PORT" --log-level error --skip-version-check \
  --optimize-store-for-read-speed bench/peers/policy/rolegate.rego "$work/set/opa/data.json" & pids+=("$!")
if [ "$CERBOS" = 1 ]; then
  CERBOS_NO_TELEMETRY=1 "$work/cerbos" server --config="$work/set/cerbos/config.yaml" --log-level=error >"$work/cerbos.log" 2>&1 & pids+=("$!")
fi
wait_ready "http://127.0.0.1:$RG_PORT/readyz"
wait_ready "http://127.0.0.1:$BASE_PORT/healthz"
wait_ready "http://127.0.0.1:$OPA_PORT/health"
[ "$CERBOS" = 1 ] && wait_ready "http://127.0.0.1:$CERBOS_PORT/_cerbos/health"

url_of() {
  case $1 in
    rolegate) echo "http://127.0.0.1:$RG_PORT" ;;
    opa) echo "http://127.0.0.1:$OPA_PORT" ;;
    cerbos) echo "http://127.0.0.1:$CERBOS_PORT" ;;
  esac
}

echo "== same answers first" >&2
for e in $engines; do
  "$work/peers" agree -kind "$e" -url "$(url_of "$e")" -dir "$work/set"
done

# wrk_run NAME URL SCRIPT REQUESTS CONNECTIONS DURATION: one wrk run; its
# RESULT line goes to the results.
wrk_run() {
  echo "  $1" >&2
  local prof=()
  if [ -n "${PROFILE_DIR:-}" ] && [ -n "${PPROF_ADDR:-}" ] && [ "$1" = "http c=64 rolegate" ] && [ ! -e "$PROFILE_DIR/cpu.prof" ]; then
    mkdir -p "$PROFILE_DIR"
    local secs=$(( ${6%s} > 4 ? ${6%s} - 2 : 1 ))
    curl -s -o "$PROFILE_DIR/cpu.prof" "http://$PPROF_ADDR/debug/pprof/profile?seconds=$secs" & prof+=("$!")
    (sleep 1; curl -s -o "$PROFILE_DIR/trace.out" "http://$PPROF_ADDR/debug/pprof/trace?seconds=2") & prof+=("$!")
  fi
  BENCH_NAME="$1" BENCH_REQUESTS="$4" BENCH_THREADS=$(( $5 < THREADS ? $5 : THREADS )) \
    wrk -t"$(( $5 < THREADS ? $5 : THREADS ))" -c"$5" -d"$6" --timeout 10s -s "bench/peers/wrk/$3" "$2" \
    | tee -a "$work/wrk.log" | grep '^RESULT' >> "$work/results.txt"
  if [ ${#prof[@]} -gt 0 ]; then wait "${prof[@]}" || true; fi
}

echo "== timed: over HTTP, and cold tokens" >&2
for run in $(seq 1 "$RUNS"); do
  echo "run $run of $RUNS" >&2
  for c in $CONNECTIONS; do
    for e in $engines; do
      wrk_run "http c=$c $e" "$(url_of "$e")" rotate.lua "$work/set/$e.req" "$c" "$DURATION"
    done
  done
  r=$((run - 1))
  wrk_run "cold baseline GET /me/" "http://127.0.0.1:$BASE_PORT" once.lua "$work/set/cold-base-$r.req" 64 "$COLD_DURATION"
  wrk_run "cold rolegate GET /me/" "$(url_of rolegate)" once.lua "$work/set/cold-me-$r.req" 64 "$COLD_DURATION"
  wrk_run "cold rolegate POST /v1/authz/check" "$(url_of rolegate)" once.lua "$work/set/cold-check-$r.req" 64 "$COLD_DURATION"
done
if grep -q 'RESULT' "$work/results.txt" && awk -F'\t' '$5 > 0 {bad=1} END {exit !bad}' "$work/results.txt"; then
  echo "some requests failed:" >&2; grep RESULT "$work/results.txt" | awk -F'\t' '$5 > 0' >&2; exit 1
fi
# The servers are done: stop them before the in-process timings.
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done

echo "== timed: in process" >&2
"$work/peers" inproc -lines "$LINES" -n "$INPROC_N" -runs "$RUNS" -benchtime "$BENCHTIME" > "$work/inproc.txt"
# In a tenant, with MEMBERSHIPS memberships (over 100,000 tenants, or one
# per 10 memberships when fewer).
"$work/peers" members -memberships "$MEMBERSHIPS" -tenants "$(( MEMBERSHIPS / 10 < 100000 ? MEMBERSHIPS / 10 : 100000 ))" \
  -n "$INPROC_N" -runs "$RUNS" -benchtime "$BENCHTIME" > "$work/members.txt"

echo
cat "$work/versions.txt"
echo "load average (1 min) during the run, every 5 s: $(sort -n "$work/load.txt" | awk '{a[NR]=$1} END {printf "min %s, median %s, max %s over %d samples", a[1], a[int((NR+1)/2)], a[NR], NR}')"
echo
"$work/peers" report -results "$work/results.txt" -inproc "$work/inproc.txt" -members "$work/members.txt" ${SVG:+-svg "$SVG"} | tee "$work/report.md"
