# A private PostgreSQL 15 for tests and benchmarks: its own data directory and port on 127.0.0.1, trust
# authentication for the `kadende` role, stopped when the calling script exits. Sourced by scripts/test and
# scripts/bench after scripts/lib/common.sh (which provides ensure_apt).
#   start_postgres      sets KADENDE_TEST_POSTGRES (a URL), KADENDE_TEST_POSTGRES_DATA and KADENDE_TEST_POSTGRES_CTL
#   stop_postgres

postgres_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] || { echo "PostgreSQL's binaries are missing (apt-get install postgresql)" >&2; return 1; }
  echo "$bin"
}

# Runs a PostgreSQL tool as the owner of the data directory: initdb and the server refuse to run as root.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  ensure_apt postgresql
  local bin port dir
  bin=$(postgres_bin)
  dir=$(mktemp -d /tmp/kadende-postgres-XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_postgres "$bin/initdb" -D "$dir/data" -U kadende -A trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log"; return 1; }
  # Loopback only, the socket in the private directory, and sized for a test machine.
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c fsync=off -c synchronous_commit=off" start >/dev/null \
    || { cat "$dir/server.log"; return 1; }
  export KADENDE_TEST_POSTGRES="postgres://kadende@127.0.0.1:$port/postgres"
  export KADENDE_TEST_POSTGRES_DATA="$dir/data"
  # What tests run to restart or stop the server (the PostgreSQL-restart test).
  if [ "$(id -u)" -eq 0 ]; then
    export KADENDE_TEST_POSTGRES_CTL="runuser -u postgres -- $bin/pg_ctl"
  else
    export KADENDE_TEST_POSTGRES_CTL="$bin/pg_ctl"
  fi
  KADENDE_POSTGRES_DIR="$dir"
  echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir/data)"
}

stop_postgres() {
  [ -n "${KADENDE_POSTGRES_DIR:-}" ] || return 0
  as_postgres "$(postgres_bin)/pg_ctl" -D "$KADENDE_POSTGRES_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$KADENDE_POSTGRES_DIR"
  KADENDE_POSTGRES_DIR=""
}
