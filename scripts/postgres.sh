# A private PostgreSQL server for the tests (source it; it defines functions and sets nothing else).
#
#   ferry_postgres_start   installs Debian's postgresql when pg_ctl is missing, starts a server in its own data
#                          directory on a free 127.0.0.1 port and exports FERRY_TEST_POSTGRES_URL
#                          (postgres://ferry_test:PASSWORD@127.0.0.1:PORT/ferry_test?sslmode=disable)
#   ferry_postgres_stop    stops that server (by its data directory) and removes the directory
#
# The server refuses to run as root, so as root it runs as the `postgres` OS user (runuser). It never uses or
# touches a cluster the package may have started by itself (Debian's `main` cluster on port 5432).

ferry_pg_dir=""
ferry_pg_bin=""

ferry_pg_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ferry_postgres_start() {
    ferry_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$ferry_pg_bin" ] || [ ! -x "$ferry_pg_bin/pg_ctl" ]; then
        echo "test.sh: installing PostgreSQL (Debian's postgresql)" >&2
        apt-get update -qq >/dev/null
        # policy-rc.d 101: the package must not start its own cluster (we start a private one).
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        rm -f /usr/sbin/policy-rc.d
        ferry_pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    ferry_pg_dir=$(mktemp -d /tmp/ferry-postgres.XXXXXX)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$ferry_pg_dir"; fi
    local port password
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" > "$ferry_pg_dir/pwfile"
    chmod 600 "$ferry_pg_dir/pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$ferry_pg_dir/pwfile"; fi
    ferry_pg_as "$ferry_pg_bin/initdb" -D "$ferry_pg_dir/data" -U ferry_test --pwfile="$ferry_pg_dir/pwfile" \
        -A scram-sha-256 -E UTF8 --no-sync >/dev/null
    ferry_pg_as "$ferry_pg_bin/pg_ctl" -D "$ferry_pg_dir/data" -l "$ferry_pg_dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $ferry_pg_dir -c fsync=off -c max_connections=200" start >/dev/null
    trap ferry_postgres_stop EXIT
    PGPASSWORD="$password" "$ferry_pg_bin/psql" -q -h 127.0.0.1 -p "$port" -U ferry_test -d postgres \
        -c "CREATE DATABASE ferry_test" >/dev/null
    export FERRY_TEST_POSTGRES_URL="postgres://ferry_test:$password@127.0.0.1:$port/ferry_test?sslmode=disable"
    echo "test.sh: PostgreSQL $("$ferry_pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

ferry_postgres_stop() {
    if [ -n "$ferry_pg_dir" ] && [ -d "$ferry_pg_dir/data" ]; then
        ferry_pg_as "$ferry_pg_bin/pg_ctl" -D "$ferry_pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$ferry_pg_dir" ]; then rm -rf "$ferry_pg_dir"; fi
    ferry_pg_dir=""
}
