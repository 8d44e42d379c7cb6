#!/usr/bin/env bash
# `make bench-load`: the deadline-day load test (bench/load/locustfile.py) against the stack of
# scripts/run.sh (gunicorn as gunicorn.conf.py sets it up, a Celery worker, beat) on the seeded
# bench database, one headless Locust run per step of users. Prints each step's summary with the
# load average before and after (other work on the machine inflates every absolute figure). At the
# end of a step each user finishes its current action (--stop-timeout), so none is cut mid-request.
#   PNEUMO_BENCH_DB (pneumo_bench), PNEUMO_BENCH_EMPLOYERS (200000: seeded if fewer),
#   BENCH_LOAD_USERS ("100 250"), BENCH_LOAD_TIME (5m), BENCH_LOAD_SPAWN_RATE (10/s),
#   BENCH_LOAD_OUT (var/bench-load), GUNICORN_CMD_ARGS (e.g. "--workers 3 --threads 1" to compare).
set -eu
cd "$(dirname "$0")/../.."
PY=.venv/bin
export PNEUMO_DB_NAME="${PNEUMO_BENCH_DB:-pneumo_bench}"
export PNEUMO_PORT="${PNEUMO_BENCH_PORT:-8765}"
# A queue and cache prefix of its own: another portal on this Redis must not take its tasks.
export PNEUMO_CELERY_QUEUE="bench-load-$PNEUMO_DB_NAME" PNEUMO_CACHE_PREFIX="bench-load-$PNEUMO_DB_NAME"
export PROMETHEUS_MULTIPROC_DIR="var/metrics-bench-load"
USERS="${BENCH_LOAD_USERS:-100 250}"
DURATION="${BENCH_LOAD_TIME:-5m}"
RATE="${BENCH_LOAD_SPAWN_RATE:-10}"
OUT="${BENCH_LOAD_OUT:-var/bench-load}"
mkdir -p "$OUT"

$PY/python -c "from bench.common import setup_django; setup_django()"  # migrate; seed if short of employers
# Collecting (hashing and compressing every file) takes minutes on a busy machine: only when a
# static file changed since the last collection.
manifest="${PNEUMO_STATIC_ROOT:-staticfiles}/staticfiles.json"
if [ ! -f "$manifest" ] || [ -n "$(find . -path ./.venv -prune -o -path '*/static/*' -type f -newer "$manifest" -print -quit)" ]; then
  $PY/python manage.py collectstatic --no-input -v 0
fi
bash scripts/run.sh > "$OUT/stack.log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null; wait $stack' EXIT
until curl -fsS "http://127.0.0.1:$PNEUMO_PORT/healthz" >/dev/null 2>&1; do sleep 1; done
echo "gunicorn: ${GUNICORN_CMD_ARGS:-gunicorn.conf.py defaults} (PNEUMO_WEB_WORKERS=${PNEUMO_WEB_WORKERS:-2}," \
     "PNEUMO_WEB_THREADS=${PNEUMO_WEB_THREADS:-8}); database $PNEUMO_DB_NAME; $(nproc) cores"
for users in $USERS; do
  # Each step starts from a vacuumed database: a step's saves and rollups leave dead rows behind
  # (the dashboard's rollup rows are rewritten on every save), which autovacuum clears in a
  # deployment but not where it is off (CI machines): the next step would read through them.
  $PY/python -c "from bench.common import setup_django, vacuum; setup_django(); vacuum()"
  echo "load average before $users users: $(cut -d' ' -f1-3 /proc/loadavg)"
  logged=$(wc -l < "$OUT/stack.log")
  $PY/locust -f bench/load/locustfile.py --host "http://127.0.0.1:$PNEUMO_PORT" --headless -u "$users" \
    -r "$RATE" -t "$DURATION" --stop-timeout 60 --csv "$OUT/u$users" --only-summary --loglevel WARNING > "$OUT/u$users.log" 2>&1 || true
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  tail -n +"$((logged + 1))" "$OUT/stack.log" > "$OUT/u${users}_stack.log"  # this step's request log
  $PY/python -m bench.load.summary "$OUT/u$users"
done
