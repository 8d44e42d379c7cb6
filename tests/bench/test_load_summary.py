"""The load test's summary: where the web workers' time went, read from the step's request log."""

import json

from bench.load.summary import server_time


def test_server_time_sums_each_route_with_ids_folded(tmp_path, capsys):
    log = tmp_path / "u100_stack.log"
    lines = [
        {"method": "GET", "path": "/ledger/employers/12/", "duration_ms": 30.0},
        {"method": "GET", "path": "/ledger/employers/345/", "duration_ms": 50.0},
        {"method": "GET", "path": "/dashboard/", "duration_ms": 120.0},
    ]
    log.write_text("\n".join([*map(json.dumps, lines), "[celery] not a request line", '{"duration_ms": broken'])
                   + "\n")

    server_time(str(tmp_path / "u100"))

    out = capsys.readouterr().out
    assert "0 s over 3 requests" in out
    assert "| GET /dashboard/ | 1 | 120 | 60.0% |" in out
    assert "| GET /ledger/employers/<id>/ | 2 | 40 | 40.0% |" in out


def test_server_time_says_nothing_without_a_log(tmp_path, capsys):
    server_time(str(tmp_path / "u250"))
    assert capsys.readouterr().out == ""
