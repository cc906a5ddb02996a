#!/usr/bin/env bash
# Load test: rolegate against a bare-Gin baseline, on SQLite and PostgreSQL,
# with wrk. Prints req/s, p50 and p99 per scenario (medians over RUNS runs)
# and each one's throughput as a multiple of the baseline's GET /me/. The
# login scenario also reports rolegate's CPU milliseconds per successful
# login against a bare argon2id hash at the same parameters, timed in the
# same run (loadtool hash).
#
#   bench/load.sh                       # one run of every scenario on both databases
#   RUNS=3 bench/load.sh                # medians of three runs
#   DATABASES=postgres DURATION=5s bench/load.sh
#
# Settings (environment): RUNS (1), DURATION (10s), CONNECTIONS (64),
# THREADS (2), USERS (1000), DATABASES ("sqlite postgres"), PG_URL
# (postgres://postgres@127.0.0.1:5432, trust auth; a fresh database is
# created in it and dropped at the end), PPROF_ADDR (empty; set it to
# expose rolegate's pprof listener during the run), SCENARIOS (all:
# "me users refresh login check"), PROFILE_DIR (empty; with PPROF_ADDR,
# a CPU profile of rolegate during each of its scenarios is written there),
# CONCURRENCY_SWEEP (empty; e.g. "1 4 16 64 256": also run GET /me/ on the
# baseline and rolegate at each of these connection counts, once a run,
# for bench/plot's throughput figure), FLOOD_CONNECTIONS (16: logins at
# once in the "flood" scenario, GET /me/ while a login flood runs),
# ROLEGATE_PORT (18080) and BASELINE_PORT (18090).
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
USERS=${USERS:-1000}
DATABASES=${DATABASES:-sqlite postgres}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SCENARIOS=${SCENARIOS:-me users refresh login check flood}
PASSWORD='bench-password-correct-horse'
ROLEGATE_PORT=${ROLEGATE_PORT:-18080}
BASELINE_PORT=${BASELINE_PORT:-18090}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi

work=$(mktemp -d)
pgdb="rolegate_bench_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ " $DATABASES " == *" postgres "* ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building into $work" >&2
go build -o "$work/rolegate" ./cmd/rolegate
go build -o "$work/baseline" ./bench/baseline
go build -o "$work/loadtool" ./bench/loadtool
"$work/loadtool" users -n "$USERS" -password "$PASSWORD" -out "$work/users.csv"

# wait_ready URL: poll until URL answers 200, at most 20 s.
wait_ready() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

# cpu_ticks PID: user+system CPU ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# sample_rss PID OUT: the largest VmRSS (KiB) seen, every 0.2 s, until the
# process ends or the sampler is killed (at most an hour).
sample_rss() {
  local max=0 cur
  for _ in $(seq 1 18000); do
    cur=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null) || break
    [ -z "$cur" ] && break
    [ "$cur" -gt "$max" ] && max=$cur && echo "$max" > "$2"
    sleep 0.2
  done
}

# bench NAME URL SCRIPT [CONNECTIONS]: one wrk run; its RESULT line goes to
# the results.
bench() {
  echo "  $1" >&2
  local prof=
  if [ -n "${PROFILE_DIR:-}" ] && [ -n "${PPROF_ADDR:-}" ] && [[ $1 != baseline* ]]; then
    mkdir -p "$PROFILE_DIR"
    curl -s -o "$PROFILE_DIR/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').prof" \
      "http://$PPROF_ADDR/debug/pprof/profile?seconds=$(( ${DURATION%s} > 3 ? ${DURATION%s} - 2 : 1 ))" &
    prof=$!
  fi
  local c=${4:-$CONNECTIONS}
  BENCH_NAME="$1" wrk -t"$(( c < THREADS ? c : THREADS ))" -c"$c" -d"$DURATION" --timeout 10s -s "bench/wrk/$3" "$2" \
    | tee -a "$work/wrk.log" | grep '^RESULT' >> "$work/results.txt"
  if [ -n "$prof" ]; then wait "$prof" || true; fi
}

has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# median_of "N N N": the median of the numbers in a space-separated list
# (anything else, such as n/a, is skipped); empty when there are none.
median_of() {
  tr ' ' '\n' <<<"$1" | grep -E '^[0-9]+(\.[0-9]+)?$' | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

declare -A rss_kib login_cpu_ms bare_hash_ms
for db in $DATABASES; do
  case $db in
    sqlite) url="sqlite:$work/rolegate.db" ;;
    postgres)
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $pgdb" >/dev/null
      url="$PG_URL/$pgdb?sslmode=disable" ;;
    *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  export ROLEGATE_DATABASE_URL="$url" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" ROLEGATE_LOG_LEVEL=warn
  "$work/rolegate" migrate up >&2
  "$work/rolegate" users import "$work/users.csv" >&2
  # The refresh and login scenarios log benchuser in thousands of times a
  # minute: the per-account session limit (30 a minute by default) would
  # answer them 429. Throughput, not that limit, is what is measured here.
  ROLEGATE_LOGIN_SESSION_LIMIT=1000000000 \
  ROLEGATE_ADDR=127.0.0.1:$ROLEGATE_PORT ROLEGATE_PPROF_ADDR=${PPROF_ADDR:-} "$work/rolegate" serve 2>"$work/rolegate-$db.log" &
  rg=$!; pids+=("$rg")
  wait_ready "http://127.0.0.1:$ROLEGATE_PORT/readyz"
  if [ -z "${baseline_pid:-}" ]; then
    "$work/baseline" -addr 127.0.0.1:$BASELINE_PORT -keys "$work/jwt-keys.json" -model policy/model.conf -policy policy/policy.csv &
    baseline_pid=$!; pids+=("$baseline_pid")
  fi
  sample_rss "$rg" "$work/rss-$db" & pids+=("$!")
  "$work/loadtool" tokens -url "http://127.0.0.1:$ROLEGATE_PORT" -username benchadmin -password "$PASSWORD" -n 1 -out "$work/admin"
  "$work/loadtool" tokens -url "http://127.0.0.1:$ROLEGATE_PORT" -username benchuser -password "$PASSWORD" -n 1 -out "$work/user"
  admin=$(cat "$work/admin.access") user=$(cat "$work/user.access")
  wait_ready "http://127.0.0.1:$BASELINE_PORT/healthz"
  for run in $(seq 1 "$RUNS"); do
    echo "$db, run $run of $RUNS" >&2
    base="http://127.0.0.1:$ROLEGATE_PORT"
    if has me; then
      BENCH_TOKEN=$user bench "baseline GET /me/" "http://127.0.0.1:$BASELINE_PORT/me/" get.lua
      BENCH_TOKEN=$user bench "$db GET /me/" "$base/me/" get.lua
    fi
    if has users; then
      BENCH_TOKEN=$admin bench "$db GET /v1/users?limit=50" "$base/v1/users?limit=50" get.lua
      BENCH_TOKEN=$admin bench "$db GET /v1/users?limit=100" "$base/v1/users?limit=100" get.lua
    fi
    if has refresh; then
      "$work/loadtool" tokens -url "$base" -username benchuser -password "$PASSWORD" -n "$((CONNECTIONS + THREADS))" -out "$work/refresh"
      BENCH_TOKENS="$work/refresh" BENCH_THREADS=$THREADS bench "$db POST /v1/auth/refresh" "$base/v1/auth/refresh" refresh.lua
    fi
    has check && BENCH_TOKEN=$user bench "$db POST /v1/authz/check" "$base/v1/authz/check" check.lua
    if has login; then
      before=$(cpu_ticks "$rg")
      BENCH_USERNAME=benchuser BENCH_PASSWORD=$PASSWORD bench "$db POST /v1/auth/login" "$base/v1/auth/login" login.lua
      after=$(cpu_ticks "$rg")
      # CPU per successful login: ticks are 1/CLK_TCK s; successes are
      # requests minus errors, from the RESULT line just written.
      login_cpu_ms[$db]+="$(tail -1 "$work/results.txt" | awk -F'\t' -v d="$((after - before))" -v hz="$(getconf CLK_TCK)" -v s="${DURATION%s}" \
        '{ok = $2 * s - $5; if (ok > 0) printf "%.1f ", d * 1000 / hz / ok; else printf "n/a "}')"
      # The same parameters' bare argon2id hash, timed right after, in
      # this run: the ceiling login is measured against.
      bare_hash_ms[$db]+="$("$work/loadtool" hash -n 30) "
    fi
    if has flood; then
      # GET /me/ while logins flood the hashing queue: the logins start
      # first and outlast the measurement; their own figures are dropped.
      BENCH_NAME=flood BENCH_USERNAME=benchuser BENCH_PASSWORD=$PASSWORD wrk -t1 -c"${FLOOD_CONNECTIONS:-16}" \
        -d"$(( ${DURATION%s} + 2 ))s" --timeout 10s -s bench/wrk/login.lua "$base/v1/auth/login" >/dev/null &
      flood=$!
      sleep 1
      BENCH_TOKEN=$user bench "$db GET /me/ during a login flood" "$base/me/" get.lua
      wait "$flood" || true
    fi
    for c in ${CONCURRENCY_SWEEP:-}; do
      BENCH_TOKEN=$user bench "c=$c baseline" "http://127.0.0.1:$BASELINE_PORT/me/" get.lua "$c"
      BENCH_TOKEN=$user bench "c=$c rolegate $db" "$base/me/" get.lua "$c"
    done
  done
  kill "$rg"; wait "$rg" 2>/dev/null || true
  rss_kib[$db]=$(cat "$work/rss-$db" 2>/dev/null || echo 0)
  unset ROLEGATE_DATABASE_URL
done

echo
grep -v '^RESULT c=' "$work/results.txt" > "$work/table.txt" || true
"$work/loadtool" table "$work/table.txt"
if [ -n "${CONCURRENCY_SWEEP:-}" ]; then echo; echo "concurrency sweep:"; grep '^RESULT c=' "$work/results.txt"; fi
echo
for db in $DATABASES; do
  echo "$db: rolegate peak RSS $((${rss_kib[$db]} / 1024)) MiB; CPU ms per successful login: ${login_cpu_ms[$db]:-not run}"
  if [ -n "${login_cpu_ms[$db]:-}" ]; then
    # Medians over the runs, and their ratio.
    lm=$(median_of "${login_cpu_ms[$db]}") hm=$(median_of "${bare_hash_ms[$db]}")
    echo "$db: bare argon2id hash CPU ms: ${bare_hash_ms[$db]}-> login/hash" \
      "$(awk -v l="$lm" -v h="$hm" 'BEGIN { if (l != "" && h > 0) printf "%.2f (medians %s / %s)", l / h, l, h; else printf "n/a" }')"
  fi
done
