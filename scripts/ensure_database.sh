#!/usr/bin/env bash
# Create the application database if it does not exist yet.
set -eu
NAME="$1"
export PGHOST="${PNEUMO_DB_HOST:-127.0.0.1}" PGPORT="${PNEUMO_DB_PORT:-5432}" PGUSER="${PNEUMO_DB_USER:-postgres}"
export PGPASSWORD="${PNEUMO_DB_PASSWORD:-}"
if ! psql -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
  echo "错误：PostgreSQL 拒绝了用户 $PGUSER 的连接。ERROR: PostgreSQL refused user $PGUSER; set PNEUMO_DB_USER/PNEUMO_DB_PASSWORD." >&2
  exit 1
fi
if [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$NAME'")" != "1" ]; then
  echo "creating database $NAME"
  createdb "$NAME"
fi
