#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the collector's PostgreSQL test and print its URL:
#   export BINWATCH_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"
# Installs Debian's postgresql when it is missing; the cluster trusts loopback connections (tests only).
# Everything but the URL goes to standard error.
set -euo pipefail
PORT="${BINWATCH_PG_PORT:-55432}"
DIR="${BINWATCH_PG_DIR:-/tmp/binwatch-pg}"
DB="binwatch_test"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql …" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown postgres:postgres "$DIR"
  su postgres -s /bin/sh -c "'$BIN/initdb' -D '$DIR/data' -A trust -U postgres -E UTF8" >&2
  su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w \
    -o \"-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off\" start" >&2
fi
if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
