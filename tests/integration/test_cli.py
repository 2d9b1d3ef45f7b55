"""The operator CLI against a real database: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import uuid

import pytest

from eslbridge.cli import main
from tests import factories as f

LINE = "6f0c5f0e-64a4-4b5b-9a43-8a6f0f7b1a01"
TASK = "0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01"


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    return db_url


def document(**task_over):
    task = {"uuid": TASK, "user_id": "acme", "name": "spring campaign", "caller_line_id": LINE,
            "destination_extension": "9000", "maximumcall": 5, "originate_variables": "{execute_on_media=start_da2}",
            "numbers": ["13800000001", "138-0000-0002"]}
    task.update(task_over)
    return {
        "tenants": [{"id": "acme", "name": "Acme"}],
        "lines": [{"id": LINE, "user_id": "acme", "name": "trunk", "dial_string": "sofia/gateway/gw1/%s", "call_line": 10}],
        "time_groups": [{"id": str(uuid.uuid4()), "user_id": "acme", "name": "lunch", "ranges": [{"start": "12:00", "end": "13:30"}]}],
        "recycle_rules": [{"id": 7, "user_id": "acme", "name": "busy", "entries": [{"status": 12, "interval_min": 30, "times": 2}]}],
        "tasks": [task],
    }


def test_apply_creates_then_updates(env, tmp_path, capsys, db):
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(document()))
    assert main(["apply", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"task {TASK} (+2 numbers)" in out and f"line {LINE}" in out
    path.write_text(json.dumps(document(name="renamed")))
    assert main(["apply", str(path)]) == 0
    with db.connection() as conn:
        assert conn.execute("SELECT name FROM task").fetchall() == [{"name": "renamed"}]
        assert conn.execute("SELECT count(*) AS n FROM task_number").fetchone()["n"] == 2


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"maximumcall": 11}, "exceeds the line's call_line"),
        ({"originate_variables": "{api_on_answer=system x}"}, "api_on_answer"),
        ({"destination_extension": "9000 XML evil"}, "destination_extension"),
        ({"recycle_limit": 3}, "recycle_limit"),
        ({"numbers": ["12ab"]}, "invalid phone"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_apply_refuses_bad_settings_with_one_line(env, tmp_path, capsys, over, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document(**over)))
    assert main(["apply", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_numbers_import_reports_bad_rows_by_line(env, tmp_path, capsys, db):
    line = f.line(db)
    task = f.task(db, line, [], start=0)
    path = tmp_path / "n.csv"
    path.write_text("name,phone\nann,13800000001\nbob,not-a-phone\ncid,13800000001\ndan,+8613800000002\n")
    assert main(["numbers", "import", task, str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["imported"] == 2 and report["duplicates"] == 1 and report["rejected"] == 1
    assert report["errors"][0][0] == 3
    assert main(["numbers", "list", task, "--json"]) == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # Normalised as the API does: +86 numbers become national digits.
    assert [(n["phone"], n["status_name"]) for n in listed] == [("13800000001", "pending"), ("13800000002", "pending")]


def test_task_verbs(env, capsys, db):
    line = f.line(db)
    task = f.task(db, line, ["13800000001"], start=0)
    assert main(["task", "start", task]) == 0
    assert capsys.readouterr().out == f"task {task} started\n"
    assert main(["task", "stop", task, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"task": task, "start": 0}  # only JSON on standard output
    assert main(["task", "start", task, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"task": task, "start": 1}
    assert main(["task", "progress", task, "--json"]) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    assert json.loads(out) == {"total": 1, "progress": 0, "finished": 0, "in_flight": 0, "waiting_retry": 0,
                               "answered": 0, "pending": 1, "percent": 0, "error": None,
                               "abandoned": 0, "held": None, "call_centre": None}
    assert main(["task", "stop", "not-a-uuid"]) == 2
    assert main(["task", "stop", str(uuid.uuid4())]) == 1
    assert "not found" in capsys.readouterr().err


def test_unreachable_database_is_one_clear_line(monkeypatch, capsys, free_port):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", f"postgresql://u:secretpw@127.0.0.1:{free_port}/x?connect_timeout=2")
    assert main(["task", "progress", str(uuid.uuid4())]) == 1
    err = capsys.readouterr().err
    assert "cannot use PostgreSQL" in err and "secretpw" not in err and len(err.strip().splitlines()) == 1


def test_apps_keygen_create_and_set_key(env, tmp_path, capsys, db):
    assert main(["apps", "keygen", "--out", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k.key").stat().st_mode & 0o077 == 0  # private key not readable by others
    assert main(["apps", "create", "--tenant", "acme", "--name", "crm"]) == 0
    app_id = capsys.readouterr().out.strip().splitlines()[-1]
    with db.connection() as conn:
        assert conn.execute("SELECT public_key FROM api_app WHERE app_id = %s", (app_id,)).fetchone()["public_key"] is None
    assert main(["apps", "set-key", app_id, str(tmp_path / "k.pub")]) == 0
    with db.connection() as conn:
        assert "BEGIN PUBLIC KEY" in conn.execute("SELECT public_key FROM api_app WHERE app_id = %s", (app_id,)).fetchone()["public_key"]
    (tmp_path / "bad.pub").write_text("not a key")
    assert main(["apps", "set-key", app_id, str(tmp_path / "bad.pub")]) == 2
    assert "not a PEM public key" in capsys.readouterr().err
    assert main(["apps", "set-key", "nope", str(tmp_path / "k.pub")]) == 1


def test_webhooks_verbs_list_replay_and_secret(env, capsys, db):
    from tests.integration.test_notify import outbox

    outbox(db, "http://10.0.0.1/hook", 2, user="acme")
    with db.transaction() as conn:
        conn.execute("UPDATE notification_outbox SET dead_at = now(), dead_reason = 'target refused: test'")
    assert main(["webhooks", "list", "--failed", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and rows[0]["dead_reason"] == "target refused: test"
    assert main(["webhooks", "replay", "--since", "2000-01-01"]) == 0
    assert "queued 2" in capsys.readouterr().out
    assert main(["webhooks", "replay"]) == 2
    assert main(["webhooks", "secret", "acme"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("whsec_")
    assert main(["webhooks", "secret", "acme"]) == 0 and capsys.readouterr().out.strip() == first
    assert main(["webhooks", "secret", "acme", "--rotate"]) == 0
    assert capsys.readouterr().out.strip() != first
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM webhook_secret WHERE expires_at IS NOT NULL").fetchone()["n"] == 1


def test_cdr_status_tells_which_files_are_read(env, tmp_path, capsys, db, monkeypatch):
    from eslbridge.cdr.format import render
    from eslbridge.cdr.reader import CdrReader

    cdr_dir = tmp_path / "cdr-csv"
    cdr_dir.mkdir()
    u = str(uuid.uuid4())
    (cdr_dir / "Master.csv.2026-12-03-10-00-00").write_bytes(render({"uuid": u, "origination_uuid": u,
                                                                     "eslbridge_engine": "e1"}))
    assert CdrReader(db, "fs1", cdr_dir).poll()
    (cdr_dir / "Master.csv").write_bytes(render({"uuid": u, "origination_uuid": u, "eslbridge_engine": "e1"}))
    monkeypatch.setenv("ESLBRIDGE_CDR_DIR", str(cdr_dir))
    assert main(["cdr", "status", "--json"]) == 0
    rows = {r["file"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Master.csv.2026-12-03-10-00-00"]["state"] == "read"
    assert rows["Master.csv"]["state"] == "unread" and rows["Master.csv"]["size"] > 0
    monkeypatch.setenv("ESLBRIDGE_CDR_DIR", str(tmp_path / "gone"))
    assert main(["cdr", "status"]) == 0
    assert "state=unreadable" in capsys.readouterr().out
