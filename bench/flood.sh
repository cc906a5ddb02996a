#!/usr/bin/env bash
# Floods of issue 10, item 3: while one attacker floods rolegate from one
# client address, a third user at another address logs in every second.
# Prints, per build, database and flood, the flood's rate and answers and
# the third user's login latency (median and worst over every run) and
# answers.
#
#   bench/flood.sh                          # defaults: production limits and argon2id
#   RUNS=3 bench/flood.sh
#   LIMITS=raised bench/flood.sh            # failure and session limits out of the way:
#                                           # every flood request costs a hash
#   BINS="before=/tmp/old/rolegate after=" RUNS=3 bench/flood.sh
#                                           # several builds, taking turns in each run
#                                           # (an empty path builds this tree)
#
# Floods (FLOODS, default all): wrong-old (CONNECTIONS connections posting
# wrong old passwords to /v1/me/password), login (correct logins to the
# attacker's own account), failed-login (failed logins for new usernames).
# Settings (environment): RUNS (1), CONNECTIONS (400), PROBES (8: third-user
# logins, one a second after a 2 s warm-up), DATABASES ("sqlite postgres"),
# PG_URL (postgres://postgres@127.0.0.1:5432; a fresh database per flood is
# created and dropped), ROLEGATE_PORT (18081). rolegate runs with its
# defaults (argon2id at OWASP's minimum, one hashing slot per two CPUs, a
# 5 s queue bound) and trusts 127.0.0.1 as its proxy, so that the
# X-Forwarded-For addresses loadtool sends are the clients' (as behind a
# load balancer). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1}
CONNECTIONS=${CONNECTIONS:-400}
PROBES=${PROBES:-8}
DATABASES=${DATABASES:-sqlite postgres}
FLOODS=${FLOODS:-wrong-old login failed-login}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
ROLEGATE_PORT=${ROLEGATE_PORT:-18081}
LIMITS=${LIMITS:-default}
BINS=${BINS:-this=}
PASSWORD='bench-password-correct-horse'

work=$(mktemp -d)
pgdb="rolegate_flood_$$"
rg=
cleanup() {
  if [ -n "$rg" ]; then kill "$rg" 2>/dev/null || true; wait "$rg" 2>/dev/null || true; fi
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building into $work" >&2
names=()
for b in $BINS; do
  name=${b%%=*} path=${b#*=}
  if [ -n "$path" ]; then cp "$path" "$work/rolegate-$name"; else go build -o "$work/rolegate-$name" ./cmd/rolegate; fi
  names+=("$name")
done
go build -o "$work/loadtool" ./bench/loadtool
# Users 1..100, every one with the same precomputed argon2id hash.
"$work/loadtool" users -n 100 -password "$PASSWORD" -out "$work/users.csv"

wait_ready() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

limits=()
if [ "$LIMITS" = raised ]; then
  limits=(ROLEGATE_LOGIN_ACCOUNT_LIMIT=100000000 ROLEGATE_LOGIN_IP_LIMIT=100000000 ROLEGATE_LOGIN_SESSION_LIMIT=100000000)
fi

for run in $(seq 1 "$RUNS"); do
  for db in $DATABASES; do
    for kind in $FLOODS; do
      for name in "${names[@]}"; do
        # A fresh database and server for every flood: no counter, block or
        # session of one flood carries into the next.
        rm -f "$work"/rolegate.db*
        case $db in
          sqlite) url="sqlite:$work/rolegate.db" ;;
          postgres)
            psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null
            psql "$PG_URL/postgres" -qc "CREATE DATABASE $pgdb" >/dev/null
            url="$PG_URL/$pgdb?sslmode=disable" ;;
          *) echo "unknown database $db" >&2; exit 2 ;;
        esac
        bin="$work/rolegate-$name"
        export ROLEGATE_DATABASE_URL="$url" ROLEGATE_JWT_KEY_FILE="$work/jwt-keys.json" ROLEGATE_LOG_LEVEL=error
        "$bin" migrate up >/dev/null 2>&1
        "$bin" users import "$work/users.csv" >/dev/null 2>&1
        env "${limits[@]}" ROLEGATE_ADDR=127.0.0.1:$ROLEGATE_PORT ROLEGATE_TRUSTED_PROXIES=127.0.0.1 \
          "$bin" serve >>"$work/rolegate.log" 2>&1 &
        rg=$!
        wait_ready "http://127.0.0.1:$ROLEGATE_PORT/readyz"
        label="$db $kind"
        if [ "${#names[@]}" -gt 1 ]; then label="$name $label"; fi
        echo "run $run of $RUNS: $label" >&2
        "$work/loadtool" flood -url "http://127.0.0.1:$ROLEGATE_PORT" -kind "$kind" -connections "$CONNECTIONS" \
          -attacker user0000003 -attacker-password "$PASSWORD" -third user0000004 -third-password "$PASSWORD" \
          -probes "$PROBES" -label "$label" | tee -a "$work/floods.txt" >&2
        kill "$rg"; wait "$rg" 2>/dev/null || true; rg=
        unset ROLEGATE_DATABASE_URL
      done
    done
  done
done

echo
"$work/loadtool" flood-table "$work/floods.txt"
