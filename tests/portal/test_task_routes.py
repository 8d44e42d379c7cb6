"""Exports run on a queue of their own, served by a worker of their own, so a long export never
holds up the rollup a save enqueues (portal/celery.py: export_queue)."""

from pathlib import Path

import yaml
from django.conf import settings

from portal.celery import app, export_queue

ROOT = Path(settings.BASE_DIR)


def _queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_exports_go_to_their_own_queue_and_everything_else_to_the_default_one():
    assert export_queue() == f"{settings.CELERY_TASK_DEFAULT_QUEUE}-exports"
    assert _queue("portal.export_write") == export_queue()
    for task in ("targets.tasks.recompute_dirty", "targets.tasks.recompute_all", "insurance.import_coverage"):
        assert _queue(task) == settings.CELERY_TASK_DEFAULT_QUEUE


def test_the_stacks_start_a_worker_for_each_queue():
    run = (ROOT / "scripts/run.sh").read_text()
    assert '-Q "${PNEUMO_CELERY_QUEUE:-pneumo}" ' in run and '-Q "${PNEUMO_CELERY_QUEUE:-pneumo}-exports"' in run
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = [" ".join(s["command"]) if isinstance(s.get("command"), list) else s.get("command", "")
                for s in services.values()]
    assert any("worker" in c and "-Q pneumo-exports" in c for c in commands)
    assert any("worker" in c and c.rstrip().endswith("-Q pneumo") for c in commands)
