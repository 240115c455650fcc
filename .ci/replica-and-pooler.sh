#!/usr/bin/env bash
# Beside the test cluster (PostgreSQL on 127.0.0.1:5432, user postgres, trust auth), start:
#   - a streaming standby of it, made with pg_basebackup, on 127.0.0.1:5433 (hot standby:
#     every database of the primary, read-only, replaying its WAL as it is written);
#   - PgBouncer (Debian's package, installed when missing) in transaction pooling mode on
#     127.0.0.1:6432, every database name passed through to the primary.
# Idempotent: what already runs is left running. Run as root (CI) or as postgres.
# The tests find them at LOYALTYCTL_TEST_REPLICA_URL / LOYALTYCTL_TEST_POOLER_URL (these
# defaults); tests/test_replica_and_pooler.py and bench/claims_buckets.py use them.
set -euo pipefail

PRIMARY_PORT="${LOYALTYCTL_PRIMARY_PORT:-5432}"
REPLICA_PORT="${LOYALTYCTL_REPLICA_PORT:-5433}"
POOLER_PORT="${LOYALTYCTL_POOLER_PORT:-6432}"
BASE="${LOYALTYCTL_CI_PG_BASE:-/var/lib/postgresql/loyaltyctl-ci}"
REPLICA_DIR="$BASE/replica"
PSQL=(psql -X -q -tA -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres)

say() { echo "replica-and-pooler: $*"; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

# --- PgBouncer's package ----------------------------------------------------------------
if [ ! -x /usr/sbin/pgbouncer ]; then
    say "installing pgbouncer (Debian's package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q pgbouncer >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q pgbouncer >/dev/null; }
fi
# the package's own service (if its start-up script ran) would take our port
if command -v service >/dev/null && [ -f /etc/init.d/pgbouncer ]; then
    service pgbouncer stop >/dev/null 2>&1 || true
fi

mkdir -p "$BASE"
chown postgres:postgres "$BASE" 2>/dev/null || true
chmod 700 "$BASE"

# --- the primary lets a standby connect ---------------------------------------------------
HBA="$("${PSQL[@]}" -c 'SHOW hba_file')"
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$HBA"; then
    say "allowing replication connections from 127.0.0.1 in $HBA"
    echo "host replication all 127.0.0.1/32 trust   # loyaltyctl CI standby" >>"$HBA"
    "${PSQL[@]}" -c 'SELECT pg_reload_conf()' >/dev/null
fi

# --- the standby -------------------------------------------------------------------------
replica_ready() {  # a standby that streams from the primary (not one left behind)
    [ "$(psql -X -tA -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -c \
        "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver
         WHERE status = 'streaming')" 2>/dev/null)" = "t" ]
}

stop_replica() {
    as_postgres "$(pg_bin)/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null 2>&1 || true
}

start_replica() {
    as_postgres "$(pg_bin)/pg_ctl" -D "$REPLICA_DIR" -l "$BASE/replica.log" -w -t 60 start \
        >/dev/null
}

make_replica() {
    say "pg_basebackup of 127.0.0.1:$PRIMARY_PORT into $REPLICA_DIR"
    rm -rf "$REPLICA_DIR"
    as_postgres pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$REPLICA_DIR" \
        -R -X stream -c fast
    # Debian keeps the primary's configuration in /etc: the standby gets its own. A hot
    # standby needs at least the primary's connection and worker limits.
    local max_conn max_workers max_locks max_prepared max_senders
    max_conn="$("${PSQL[@]}" -c 'SHOW max_connections')"
    max_workers="$("${PSQL[@]}" -c 'SHOW max_worker_processes')"
    max_locks="$("${PSQL[@]}" -c 'SHOW max_locks_per_transaction')"
    max_prepared="$("${PSQL[@]}" -c 'SHOW max_prepared_transactions')"
    max_senders="$("${PSQL[@]}" -c 'SHOW max_wal_senders')"
    as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<CONF
# loyaltyctl CI: a streaming standby of 127.0.0.1:$PRIMARY_PORT (made by .ci/replica-and-pooler.sh)
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
unix_socket_directories = '$BASE'
hba_file = '$REPLICA_DIR/pg_hba.conf'
ident_file = '$REPLICA_DIR/pg_ident.conf'
hot_standby = on
hot_standby_feedback = on
max_connections = $max_conn
max_worker_processes = $max_workers
max_locks_per_transaction = $max_locks
max_prepared_transactions = $max_prepared
max_wal_senders = $max_senders
shared_buffers = 64MB
fsync = off
logging_collector = off
CONF
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' \
        | as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null
    as_postgres touch "$REPLICA_DIR/pg_ident.conf"
    start_replica
}

wait_replica() {
    for _ in $(seq 1 60); do replica_ready && return 0; sleep 0.5; done
    return 1
}

if replica_ready; then
    say "standby already running on 127.0.0.1:$REPLICA_PORT"
else
    stop_replica  # one that runs but does not stream (the primary's WAL moved on) is made anew
    if [ -f "$REPLICA_DIR/standby.signal" ] && start_replica && wait_replica; then
        :
    else
        stop_replica
        make_replica
    fi
    wait_replica || { say "the standby did not start (see $BASE/replica.log)"; exit 1; }
    say "standby running on 127.0.0.1:$REPLICA_PORT"
fi

# --- PgBouncer in transaction mode --------------------------------------------------------
pooler_ready() {
    psql -X -tA -h 127.0.0.1 -p "$POOLER_PORT" -U postgres -d postgres -c 'SELECT 1' \
        >/dev/null 2>&1
}

if pooler_ready; then
    say "PgBouncer already running on 127.0.0.1:$POOLER_PORT"
else
    as_postgres tee "$BASE/pgbouncer.ini" >/dev/null <<INI
; loyaltyctl CI: transaction pooling in front of 127.0.0.1:$PRIMARY_PORT
[databases]
* = host=127.0.0.1 port=$PRIMARY_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $BASE/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
max_db_connections = 60
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits
logfile = $BASE/pgbouncer.log
pidfile = $BASE/pgbouncer.pid
INI
    echo '"postgres" ""' | as_postgres tee "$BASE/userlist.txt" >/dev/null
    as_postgres /usr/sbin/pgbouncer -d "$BASE/pgbouncer.ini"
    for _ in $(seq 1 40); do pooler_ready && break; sleep 0.25; done
    pooler_ready || { say "PgBouncer did not start (see $BASE/pgbouncer.log)"; exit 1; }
    say "PgBouncer (transaction mode) running on 127.0.0.1:$POOLER_PORT"
fi
