#!/bin/sh
# Entrypoint of the sandbox PostgreSQL image: initdb on first start (password from a mounted file,
# never from the environment), then run the server in the foreground.
set -e
export PGDATA=/var/lib/postgresql/data
PASSWORD_FILE=${POSTGRES_PASSWORD_FILE:-/run/secrets/postgres_password}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb -D "$PGDATA" -U "${POSTGRES_USER:-tme_user}" --pwfile="$PASSWORD_FILE" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >/dev/null
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    {
        echo "listen_addresses = '*'"
        echo "unix_socket_directories = '/tmp'"
    } >> "$PGDATA/postgresql.conf"
    echo "CREATE DATABASE ${POSTGRES_DB:-tme_portal} OWNER ${POSTGRES_USER:-tme_user};" |
        postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec postgres -D "$PGDATA"
