#!/bin/sh
# PostgreSQL for Pyxie's cloud: initialise $PGDATA on first start (password auth only), then
# run the server in the foreground. Settings: POSTGRES_USER (default pyxie), POSTGRES_DB
# (default pyxie), POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD (required), PGPORT (5432).
# The root file system may be read-only: the socket goes to /tmp (an emptyDir), data to $PGDATA.
set -eu
user="${POSTGRES_USER:-pyxie}"
db="${POSTGRES_DB:-pyxie}"
port="${PGPORT:-5432}"
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    password="$(cat "$POSTGRES_PASSWORD_FILE")"
else
    password="${POSTGRES_PASSWORD:-}"
fi
if [ -z "$password" ]; then
    echo "pyxie-postgres: set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD" >&2
    exit 2
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile="$(mktemp /tmp/pw.XXXXXX)"
    printf '%s\n' "$password" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth=scram-sha-256 --encoding=UTF8 \
        --no-instructions -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
        >> "$PGDATA/pg_hba.conf"
    postgres -D "$PGDATA" -c listen_addresses='' -c unix_socket_directories=/tmp -p "$port" &
    pid=$!
    until pg_isready -q -h /tmp -p "$port"; do sleep 0.2; done
    PGPASSWORD="$password" psql -q -h /tmp -p "$port" -U "$user" -d postgres \
        -c "CREATE DATABASE \"$db\"" >/dev/null
    kill -INT "$pid"
    wait "$pid" || true
fi
exec postgres -D "$PGDATA" -c listen_addresses="${POSTGRES_LISTEN:-*}" \
    -c unix_socket_directories=/tmp -p "$port"
