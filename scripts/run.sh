#!/usr/bin/env bash
# Start worker, beat and web, each restarted if it exits; print the URL and the demo logins;
# Ctrl-C stops all three.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin
PORT="${PNEUMO_PORT:-8000}"
pids=()
stop() {
  trap - INT TERM EXIT; echo; echo "stopping..."
  kill "${pids[@]}" 2>/dev/null; wait; exit 0
}
trap stop INT TERM EXIT

# supervise NAME COMMAND...: run the command, and start it again (after 2 s) whenever it exits,
# so a worker that dies (Redis restarted, out of memory) comes back without stopping web and beat.
supervise() {
  local name=$1; shift
  (
    trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; exit 0' INT TERM
    while true; do
      "$@" & child=$!
      wait $child; code=$?
      echo "$name exited (status $code); restarting in 2 s" >&2
      sleep 2
    done
  ) &
  pids+=($!)
}

# Requests are logged by the portal as JSON lines (portal.observability: path without the query
# string, which may hold ID numbers), so gunicorn writes no access log. The processes share one
# directory for their Prometheus counters (/metrics adds them up).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/metrics}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

supervise worker env PNEUMO_DB_POOL=0 PNEUMO_DB_APPLICATION_NAME=pneumo-worker \
  $PY/celery -A portal worker --loglevel=INFO --concurrency=2 -Q "${PNEUMO_CELERY_QUEUE:-pneumo}" -n "worker@%h"
# Exports on their own queue and worker, one at a time, so they never hold up a rollup (portal/celery.py).
supervise exports env PNEUMO_DB_POOL=0 PNEUMO_DB_APPLICATION_NAME=pneumo-exports \
  $PY/celery -A portal worker --loglevel=INFO --concurrency=1 -Q "${PNEUMO_CELERY_QUEUE:-pneumo}-exports" -n "exports@%h"
supervise beat env PNEUMO_DB_POOL=0 PNEUMO_DB_APPLICATION_NAME=pneumo-beat $PY/celery -A portal beat --loglevel=INFO
supervise web env PNEUMO_DB_APPLICATION_NAME=pneumo-web \
  $PY/gunicorn --bind "127.0.0.1:$PORT"  # workers and threads: gunicorn.conf.py

sleep 2
cat <<MSG

==========================================================================
 尘肺病防治攻坚行动信息平台 已启动 / the portal is running
   URL:      http://127.0.0.1:$PORT/
   API docs: http://127.0.0.1:$PORT/api/docs/
 演示账号 demo logins (密码 password: pneumo2026):
   county_health_clerk     东昌府区 卫生健康 录入 (county clerk)
   city_health_reviewer    聊城市 卫生健康 审核 (city reviewer)
   province_health_viewer  山东省 卫生健康 查看 (provincial official)
   province_health_admin   山东省 卫生健康 管理员 (provincial admin)
   county2_health_clerk    阳谷县 卫生健康 录入 (its ledger waits for the city; rectifies findings)
   county_hrss_clerk       东昌府区 人力资源社会保障 录入 (HRSS clerk: coverage, work lists)
   city_hrss_reviewer      聊城市 人力资源社会保障 审核 (HRSS city reviewer)
   city_health_admin       聊城市 卫生健康 管理员 (issued the inspection plan)
 监督检查 inspections (聊城市督导检查; open /inspections/ on a tablet):
   city_health_inspector          第一组 组长 (team 1 leader: 东昌府区 to do)
   city_emergency_inspector       第一组 组员 (team 1 member)
   city_hrss_inspector            第一组 联络员 (team 1 liaison)
   city_mine_safety_inspector     第二组 组长 (team 2 leader: a report to sign)
   city_medical_insurance_inspector 第二组 组员 (team 2 member)
   sysadmin                系统管理员 (Django admin at /admin/)
   …and every <level>_<department>_<role>, see README.md
 Ctrl-C stops web, worker and beat.
==========================================================================
MSG
wait
