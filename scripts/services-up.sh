#!/usr/bin/env bash
# Makes sure Postgres, Redis and NATS (with JetStream) answer, starting any that does not. For machines
# without a Docker engine (docker-compose.yml is the other way). Uses the machine's own service commands
# when they exist (pg_ctlcluster, redis-server, nats-server), and keeps data of servers it starts itself
# under .data/ (git-ignored). Idempotent; prints one line per server.
#
#   PGHOST/PGPORT (127.0.0.1/5432), REDIS_PORT (6379), NATS_PORT (4222) say where to look.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/.data"
pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
redis_port="${REDIS_PORT:-6379}"
nats_port="${NATS_PORT:-4222}"

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # name host port seconds
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    answers "$2" "$3" && { echo "services-up: $1 is up on $2:$3"; return 0; }
    sleep 0.1
  done
  echo "services-up: $1 did not come up on $2:$3 within $4 s" >&2
  return 1
}

status=0

# --- Postgres ---------------------------------------------------------------------------------------------
if answers "$pg_host" "$pg_port"; then
  echo "services-up: postgres already answers on $pg_host:$pg_port"
elif command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for postgres "$pg_host" "$pg_port" 30 || status=1
elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null && [ "$(id -u)" != "0" ]; then
  mkdir -p "$data"
  [ -d "$data/postgres" ] || initdb -D "$data/postgres" -U postgres --auth=trust >/dev/null
  pg_ctl -D "$data/postgres" -o "-p $pg_port -k /tmp -c listen_addresses=$pg_host" -l "$data/postgres.log" start >/dev/null
  wait_for postgres "$pg_host" "$pg_port" 30 || status=1
else
  echo "services-up: postgres is not answering on $pg_host:$pg_port and no way to start it was found (install PostgreSQL 15+ or use docker compose up)" >&2
  status=1
fi

# --- Redis ------------------------------------------------------------------------------------------------
if answers 127.0.0.1 "$redis_port"; then
  echo "services-up: redis already answers on 127.0.0.1:$redis_port"
elif command -v redis-server >/dev/null; then
  mkdir -p "$data/redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
    --dir "$data/redis" --logfile "$data/redis.log" >/dev/null
  wait_for redis 127.0.0.1 "$redis_port" 10 || status=1
else
  echo "services-up: redis is not answering on 127.0.0.1:$redis_port and redis-server is not installed" >&2
  status=1
fi

# --- NATS with JetStream ---------------------------------------------------------------------------------
if answers 127.0.0.1 "$nats_port"; then
  echo "services-up: nats already answers on 127.0.0.1:$nats_port"
else
  nats_bin="$(command -v nats-server || true)"
  [ -n "$nats_bin" ] || { [ -x /usr/sbin/nats-server ] && nats_bin=/usr/sbin/nats-server; }
  if [ -n "$nats_bin" ]; then
    if [ "$nats_port" = "4222" ] && [ -d /var/lib/nats-server ] && command -v start-stop-daemon >/dev/null; then
      start-stop-daemon --start --oknodo --background --exec "$nats_bin" -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    else
      mkdir -p "$data/nats"
      nohup "$nats_bin" -a 127.0.0.1 -p "$nats_port" -js -sd "$data/nats" -l "$data/nats.log" >/dev/null 2>&1 &
    fi
    wait_for nats 127.0.0.1 "$nats_port" 15 || status=1
  else
    echo "services-up: nats is not answering on 127.0.0.1:$nats_port and nats-server is not installed" >&2
    status=1
  fi
fi

exit $status
