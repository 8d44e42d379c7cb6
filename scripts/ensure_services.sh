#!/usr/bin/env bash
# Start the local PostgreSQL and Redis if they are down; say what is wrong if they can't start.
set -u
PGHOST="${PNEUMO_DB_HOST:-127.0.0.1}"; PGPORT="${PNEUMO_DB_PORT:-5432}"
if ! pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; then
  if [ "$PGHOST" = "127.0.0.1" ] && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down on $PGHOST:$PGPORT; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
  fi
  if ! pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; then
    echo "错误：无法连接 PostgreSQL ($PGHOST:$PGPORT)。" >&2
    echo "ERROR: PostgreSQL is not reachable at $PGHOST:$PGPORT. Install it (apt-get install postgresql)," >&2
    echo "       start it (pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)," >&2
    echo "       or point PNEUMO_DB_HOST/PNEUMO_DB_PORT at a running server." >&2
    exit 1
  fi
fi
REDIS_URL="${PNEUMO_REDIS_URL:-redis://127.0.0.1:6379/0}"
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  if [[ "$REDIS_URL" == redis://127.0.0.1:6379* ]] && command -v redis-server >/dev/null; then
    echo "Redis is down; starting it"
    mkdir -p /var/lib/redis /var/log/redis
    # appendonly: the task queue survives a Redis restart (as in docker-compose.yml).
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly yes \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 20); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    echo "错误：无法连接 Redis ($REDIS_URL)。" >&2
    echo "ERROR: Redis is not reachable at $REDIS_URL. Install it (apt-get install redis-server), start it," >&2
    echo "       or set PNEUMO_REDIS_URL to a running server." >&2
    exit 1
  fi
fi
