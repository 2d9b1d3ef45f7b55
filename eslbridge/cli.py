"""Command line: ``eslbridge VERB …``. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before psycopg or sockets are imported anywhere

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("eslbridge")

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code attached."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def cmd_sim(args: argparse.Namespace) -> int:
    import gevent

    from .sim.script import Rules
    from .sim.server import SimConfig, Switch

    rules = Rules(talk_s=args.talk)
    config = SimConfig(
        password=args.password,
        time_scale=args.time_scale,
        sps=args.sps,
        max_sessions=args.max_sessions,
        heartbeat_s=args.heartbeat,
        shuffle=args.shuffle,
        rules=rules,
        cdr_dir=args.cdr_dir,
    )
    host, port = args.listen
    switch = Switch(config).start(host, port)
    print(f"FreeSWITCH simulator listening on {switch.address[0]}:{switch.address[1]}", flush=True)
    try:
        while True:
            gevent.sleep(3600)
    except KeyboardInterrupt:
        switch.stop()
    return 0


def _database_url() -> str:
    from .config import Settings
    from .store.db import embedded_url

    settings = Settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return embedded_url(settings.data_dir)


def _open_db(migrate_first: bool = True):  # type: ignore[no-untyped-def]
    from .store.db import Database, DatabaseError, migrate, redact

    url = _database_url()
    try:
        if migrate_first:
            migrate(url)
        return Database(url).open()
    except DatabaseError as exc:
        raise CLIError(str(exc)) from None
    except Exception as exc:  # psycopg.OperationalError and friends: one line, no URL password
        raise CLIError(f"cannot use PostgreSQL at {redact(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}") from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from .store.db import migrate

    applied = migrate(_database_url())
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    import gevent
    import gevent.event

    from .config import Settings
    from .service import Engine

    db = _open_db()
    engine = Engine(db, Settings()).start()
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    log.info("engine %s running on %d node(s)", engine.engine_id, len(engine.links))
    stop.wait()
    log.info("stopping: no new calls; waiting up to 60s for calls in flight")
    engine.stop(drain_s=60)
    db.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    summary = demo.run(numbers=args.numbers, as_json=args.json, linger=args.linger)
    return 0 if summary["final"] == summary["numbers"] else 1


def _task_id(db, text: str):  # type: ignore[no-untyped-def]
    import uuid as _uuid

    try:
        task_id = _uuid.UUID(text)
    except ValueError:
        raise CLIError(f"task: {text!r} is not a uuid", EXIT_USAGE) from None
    from .store import tasks

    with db.connection() as conn:
        if not tasks.task_exists(conn, task_id):
            raise CLIError(f"task {task_id} not found")
    return task_id


def cmd_task(args: argparse.Namespace) -> int:
    import json as _json

    from .store import tasks

    db = _open_db()
    task_id = _task_id(db, args.task)
    with db.transaction() as conn:
        if args.action in ("start", "stop"):
            start = 1 if args.action == "start" else 0
            tasks.set_task_start(conn, task_id, start)
            # --json: only JSON on standard output, as every other verb
            print(_json.dumps({"task": str(task_id), "start": start}) if args.json
                  else f"task {task_id} {'started' if start else 'stopped'}")
            return 0
        prog = tasks.progress(conn, task_id) or {}  # _task_id() checked that it exists
    if args.json:
        print(_json.dumps(prog, default=str))
    else:
        print(" ".join(f"{k}={v}" for k, v in prog.items()))
    return 0


def cmd_cdr_status(args: argparse.Namespace) -> int:
    """How far each node's CDR files are read; a rotated file shown ``read`` may be deleted."""
    import json as _json

    from .cdr.files import scan
    from .config import Settings
    from .store import cdrs

    db = _open_db()
    with db.connection() as conn:
        cursors = cdrs.file_list(conn)
    settings = Settings()
    known = {(c["node"], c["inode"]): c for c in cursors}
    rows: list[dict[str, object]] = []
    for node, directory in settings.cdr_directories().items():
        try:
            found = scan(directory, settings.cdr_file)
        except OSError as exc:
            rows.append({"node": node, "file": str(directory), "state": f"unreadable: {exc.strerror}"})
            continue
        for f in found:
            c = known.pop((node, f.inode), None)
            read_to = int(c["read_to"]) if c else 0
            state = "read" if read_to >= f.size else "reading" if read_to else "unread"
            rows.append({"node": node, "file": f.name, "size": f.size, "read_to": read_to,
                         "lines": c["lines"] if c else 0, "bad_lines": c["bad_lines"] if c else 0, "state": state})
    for c in known.values():  # files of nodes this host has no directory for
        rows.append({"node": c["node"], "file": c["name"], "read_to": c["read_to"], "lines": c["lines"],
                     "bad_lines": c["bad_lines"], "state": "elsewhere", "updated_at": str(c["updated_at"])})
    if args.json:
        print(_json.dumps(rows))
    else:
        for r in rows:
            print(" ".join(f"{k}={v}" for k, v in r.items()))
    return 0


def cmd_numbers(args: argparse.Namespace) -> int:
    import json as _json

    from .causes import Status
    from .store import tasks

    db = _open_db()
    task_id = _task_id(db, args.task)
    if args.action == "list":
        with db.connection() as conn:
            rows = tasks.list_numbers(conn, task_id, args.status, args.limit)
        for r in rows:
            item = {"phone": r["phone"], "status": r["status"], "status_name": Status(r["status"]).name.lower(),
                    "attempts": r["attempts"], "last_cause": r["last_cause"],
                    "next_attempt_at": r["next_attempt_at"].isoformat() if r["next_attempt_at"] else None,
                    "caller_id_shown": r["caller_id_shown"], "tz": r["tz"] or None}
            print(_json.dumps(item) if args.json else "\t".join(str(v if v is not None else "-") for v in item.values()))
        return 0
    from .config import Settings
    from .importer import import_file

    report = import_file(db, task_id, args.file, progress=not args.json, region=Settings().phone_region)
    print(_json.dumps(report) if args.json else " ".join(f"{k}={v}" for k, v in report.items() if k != "errors"))
    for err in report["errors"][:20] if not args.json else ():
        print(f"  line {err[0]}: {err[1]}", file=sys.stderr)
    return 0 if report["imported"] or not report["rejected"] else 1


def cmd_apply(args: argparse.Namespace) -> int:
    from .apply import apply_file

    db = _open_db()
    try:
        from .config import Settings

        created = apply_file(db, args.file, Settings().phone_region)
    except ValueError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    for kind, ident in created:
        print(f"{kind} {ident}")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    import signal

    import gevent
    import gevent.event

    from .config import Settings
    from .notify.dispatcher import Dispatcher
    from .notify.target import parse_nets

    settings = Settings()
    db = _open_db()
    dispatcher = Dispatcher(db, f"notify@{settings.engine_id}", allow_nets=parse_nets(settings.webhook_allow_nets),
                            concurrency=settings.notify_concurrency)
    runner = gevent.spawn(dispatcher.run)
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    dispatcher.stopping = True
    dispatcher.wake.set()
    runner.join(timeout=30)
    db.close()
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    import json as _json
    from datetime import datetime

    from .notify.signing import new_secret
    from .store import apps, outbox

    db = _open_db()
    if args.action == "list":
        with db.connection() as conn:
            rows = outbox.list_notifications(conn, args.failed, args.limit)
        for r in rows:
            item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            item["url"] = item["url"].split("?", 1)[0]  # query strings may carry tokens
            print(_json.dumps(item) if args.json else f"{item['id']}\t{item['event_id']}\tattempts={item['attempts']}\t"
                  f"{'delivered' if item['delivered_at'] else 'dead: ' + str(item['dead_reason']) if item['dead_at'] else 'pending'}")
        return 0
    if args.action == "replay":
        task_id = _task_id(db, args.task) if args.task else None
        since = None
        if args.since:
            try:
                since = datetime.fromisoformat(args.since)
            except ValueError:
                raise CLIError(f"--since: {args.since!r} is not an ISO date/time", EXIT_USAGE) from None
        ids = [int(x) for x in args.ids if x.isdigit()]
        if len(ids) != len(args.ids):
            raise CLIError("replay: ids are numbers (see `eslbridge webhooks list`)", EXIT_USAGE)
        if not ids and task_id is None and since is None:
            raise CLIError("replay: give IDs, --task or --since", EXIT_USAGE)
        with db.transaction() as conn:
            n = outbox.replay_notifications(conn, ids, task_id, since)
        print(f"queued {n} notification(s) again")
        return 0
    with db.transaction() as conn:
        if not apps.tenant_exists(conn, args.tenant):
            raise CLIError(f"tenant {args.tenant!r} not found")
        secret = outbox.current_secret(conn, args.tenant)
        if secret is None or args.rotate:
            secret = new_secret()
            outbox.add_secret(conn, args.tenant, secret, args.grace * 3600 if args.rotate else None)
    print(secret)
    return 0


def _owner(args: argparse.Namespace) -> str | None:
    """The list's tenant (--tenant), or None for a global list (--global)."""
    return None if args.global_list else args.tenant


def cmd_dnc(args: argparse.Namespace) -> int:
    import json as _json
    from datetime import datetime

    from .config import Settings
    from .phones import Normaliser
    from .store import apps, dnc

    db = _open_db()
    owner = _owner(args)
    phones = Normaliser(Settings().phone_region)
    with db.connection() as conn:
        if owner is not None and not apps.tenant_exists(conn, owner):
            raise CLIError(f"tenant {owner!r} not found")

    def existing() -> dict[str, Any]:
        with db.connection() as conn:
            row = dnc.list_by_name(conn, owner, args.list)
        if row is None:
            raise CLIError(f"no do-not-call list {args.list!r} of {owner or 'the global lists'}")
        return row

    def text(v: object) -> object:
        return v.isoformat() if isinstance(v, datetime) else v

    if args.action == "list":
        if args.list is None:
            with db.connection() as conn:
                rows = dnc.all_lists(conn) if args.all else dnc.lists(conn, owner)
                for r in rows:
                    r.update(dnc.count_entries(conn, r["id"]))
            for r in rows:
                item = {k: text(v) for k, v in r.items()}
                print(_json.dumps(item) if args.json else
                      f"{r['id']}\t{r['user_id'] or '(global)'}\t{r['name']}\tentries={r['entries']}\tin_force={r['in_force']}")
            return 0
        lst = existing()
        with db.connection() as conn:
            rows = dnc.entries_page(conn, lst["id"], args.after or "", args.limit)
        for r in rows:
            item = {k: text(v) for k, v in r.items()}
            print(_json.dumps(item) if args.json else "\t".join(str(v if v is not None else "-") for v in item.values()))
        return 0
    if args.action == "import":
        from .dnc_import import import_file

        with db.transaction() as conn:
            lst = dnc.create_list(conn, owner, args.list)
        try:
            report = import_file(db, lst["id"], args.file, Settings().phone_region)
        except FileNotFoundError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
        errors = report.pop("errors")
        print(_json.dumps({**report, "errors": errors}) if args.json else " ".join(f"{k}={v}" for k, v in report.items()))
        for line, why in errors[:20] if not args.json else ():
            print(f"  line {line}: {why}", file=sys.stderr)
        return 0 if report["entries"] or not report["rejected"] else 1
    from .dnc_import import key_of

    stored = []
    for raw in args.phones:
        phone = key_of(phones, raw)
        if phone is None:
            raise CLIError(f"phone: {raw[:40]!r} is not a phone number", EXIT_USAGE)
        stored.append(phone)
    if args.action == "add":
        from .dnc_import import parse_expiry
        from .store.dnc import Entry

        try:
            expires = parse_expiry(args.expires) if args.expires else None
        except ValueError:
            raise CLIError(f"--expires: {args.expires!r} is not an ISO date or time", EXIT_USAGE) from None
        with db.transaction() as conn:
            lst = dnc.create_list(conn, owner, args.list)
            counts = dnc.add_entries(conn, lst["id"], [Entry(p, expires, args.reason) for p in stored])
        print(" ".join(f"{k}={v}" for k, v in counts.items()))
        return 0
    lst = existing()
    with db.transaction() as conn:
        removed = dnc.remove_entries(conn, lst["id"], stored)
    print(f"removed={removed}")
    return 0 if removed else 1


def cmd_cdr(args: argparse.Namespace) -> int:
    if args.action == "status":
        return cmd_cdr_status(args)
    from datetime import UTC, datetime, timedelta

    from .config import Settings
    from .store import records

    def when(text: str, flag: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise CLIError(f"{flag}: {text!r} is not an ISO date or time", EXIT_USAGE) from None
        return value if value.tzinfo else value.astimezone()

    db = _open_db()
    if args.action == "purge":
        days = args.older_than if args.older_than is not None else Settings().record_retention_days
        if not days:
            raise CLIError("purge: give --older-than DAYS (or set ESLBRIDGE_RECORD_RETENTION_DAYS)", EXIT_USAGE)
        gone = records.purge(db, datetime.now(UTC) - timedelta(days=days))
        print(" ".join(f"{k}={v}" for k, v in gone.items()))
        return 0
    from .records import write_records

    task_id = _task_id(db, args.task) if args.task else None
    rows = records.export(db, when(args.since, "--since"), when(args.until, "--until") if args.until else None,
                          task_id, args.tenant)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            n = write_records(rows, out, args.format)
    else:
        n = write_records(rows, sys.stdout, args.format)
    print(f"{n} record(s)", file=sys.stderr)
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import os
    import shutil
    import signal
    import socket
    import tempfile

    # Workers are forked processes: their metrics go to files a scrape of any one adds up
    # (prometheus_client reads this variable when it is first imported, so it is set first).
    own_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_metrics_dir = tempfile.mkdtemp(prefix="eslbridge-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir

    import gevent
    import gevent.event

    from .api.app import serve
    from .config import Settings

    host, port = args.listen
    url = _database_url()
    _open_db().close()  # migrate once, and fail early with a clear line
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
    except OSError as exc:
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # Workers share the bound socket; each has its own gevent hub and database pool.
    children: list[int] = []
    for _ in range(max(1, args.workers) - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)
    from .store.db import Database

    # Handlers read with single statements; a request takes two connections in
    # turn, and a pool that runs dry makes greenlets queue on a condition variable.
    db = Database(url, min_size=4, max_size=32, autocommit=True).open()
    server = serve(db, host, port, args.region or Settings().phone_region, listener=listener)
    if children or args.workers <= 1:
        log.info("task API on http://%s:%s with %d worker(s) (OpenAPI at /openapi.json, docs at /docs)",
                 host, listener.getsockname()[1], max(1, args.workers))
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    server.stop(timeout=10)
    db.close()
    for pid in children:
        os.waitpid(pid, 0)
    if own_metrics_dir is not None and (children or args.workers <= 1):
        shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def cmd_apps(args: argparse.Namespace) -> int:
    import secrets
    from pathlib import Path

    from .api import auth
    from .store import apps

    if args.action == "keygen":
        private, public = auth.keygen()
        prefix = Path(args.out)
        priv_path, pub_path = prefix.with_suffix(".key"), prefix.with_suffix(".pub")
        priv_path.write_bytes(private)
        priv_path.chmod(0o600)
        pub_path.write_bytes(public)
        print(f"private key: {priv_path}\npublic key:  {pub_path}")
        return 0

    def read_key(path: str) -> str:
        try:
            pem = Path(path).read_text()
        except OSError as exc:
            raise CLIError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
        try:
            auth.load_public_key(pem)
        except ValueError as exc:
            raise CLIError(f"{path}: {exc}", EXIT_USAGE) from None
        return pem

    db = _open_db()
    if args.action == "create":
        pem = read_key(args.public_key) if args.public_key else None
        app_id = secrets.token_hex(16)
        with db.transaction() as conn:
            apps.create_app(conn, app_id, args.tenant, args.name, pem)
        print(app_id)
        return 0
    pem = read_key(args.file)
    with db.transaction() as conn:
        if not apps.set_key(conn, args.app_id, pem):
            raise CLIError(f"app {args.app_id!r} not found")
    print(f"public key of {args.app_id} set")
    return 0


def cmd_node(args: argparse.Namespace) -> int:
    import getpass
    import json as _json
    import socket
    from datetime import datetime

    from .store import nodes

    db = _open_db()
    if args.action == "list":
        with db.connection() as conn:
            rows = nodes.listing(conn)
        for r in rows:
            item = {"node": r["name"], "paused": r["paused_at"] is not None,
                    "paused_at": r["paused_at"].isoformat() if r["paused_at"] else None, "paused_by": r["paused_by"],
                    "reason": r["reason"], "in_flight": r["in_flight"],
                    "links": {link["engine"]: "up" if link["connected"] else "down" for link in r["links"]}}
            if args.json:
                print(_json.dumps(item))
            else:
                links = ",".join(f"{k}:{v}" for k, v in item["links"].items()) or "-"
                state = f"paused since {item['paused_at']} by {item['paused_by']}" if item["paused"] else "dialling"
                print(f"{item['node']}\t{state}\tin_flight={item['in_flight']}\tlinks={links}")
        return 0
    if not args.node:
        raise CLIError(f"node {args.action}: NODE is required", EXIT_USAGE)
    with db.transaction() as conn:
        if not nodes.known(conn, args.node):
            raise CLIError(f"node: {args.node!r} is not a node any line or engine names (see `eslbridge node list`)",
                           EXIT_USAGE)
        if args.action == "pause":
            try:
                who = f"{getpass.getuser()}@{socket.gethostname()}"
            except Exception:  # no user name in this environment
                who = socket.gethostname()
            since: datetime = nodes.pause(conn, args.node, who, args.reason)
            print(f"node {args.node} paused since {since.isoformat()}: no new calls within a second; "
                  "calls up finish and are recorded")
            return 0
        if nodes.resume(conn, args.node):
            print(f"node {args.node} resumed")
        else:
            print(f"node {args.node} was not paused")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import json as _json
    import secrets

    from .store import apps, board

    db = _open_db()
    if args.action == "create":
        token = "ebt_" + secrets.token_urlsafe(24)
        with db.transaction() as conn:
            if args.tenant and not apps.tenant_exists(conn, args.tenant):
                raise CLIError(f"--tenant: tenant {args.tenant!r} not found", EXIT_USAGE)
            token_id = board.create_token(conn, token, args.tenant, args.name)
        scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
        print(token)
        print(f"token {token_id} ({scope}); open the wallboard at http://HOST:PORT/ui#token={token}", file=sys.stderr)
        return 0
    if args.action == "list":
        with db.connection() as conn:
            rows = board.list_tokens(conn)
        for r in rows:
            item = {"id": r["id"], "tenant": r["user_id"], "name": r["name"], "created_at": r["created_at"].isoformat(),
                    "revoked": r["revoked_at"] is not None}
            print(_json.dumps(item) if args.json else
                  f"{item['id']}\t{item['tenant'] or '(every tenant)'}\t{item['name']}\t{'revoked' if item['revoked'] else 'active'}")
        return 0
    if not args.id.isdigit():
        raise CLIError(f"id: {args.id!r} is not a token id (see `eslbridge ui token list`)", EXIT_USAGE)
    with db.transaction() as conn:
        if not board.revoke_token(conn, int(args.id)):
            raise CLIError(f"token {args.id} not found or already revoked")
    print(f"token {args.id} revoked")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    bench = importlib.import_module(f".bench.{args.what}", __package__)
    if args.what == "esl":
        bench.run(args.json, events=args.events)
    elif args.what == "switch":
        import os

        from .bench.engine import SwitchTarget

        if not args.switch:
            print("eslbridge bench switch: --switch HOST:PORT is required", file=sys.stderr)
            return 2
        try:
            host, port = bench.parse_address(args.switch)
        except ValueError as exc:
            print(f"eslbridge bench switch: {exc}", file=sys.stderr)
            return 2
        # Only what was given: the rest is SwitchTarget's and run()'s own defaults.
        given = {"password": os.environ.get("ESLBRIDGE_BENCH_SWITCH_PASSWORD"), "dial_string": args.dial_string,
                 "calls_per_second": args.cps}
        target = SwitchTarget(host, port, **{k: v for k, v in given.items() if v is not None})
        bench.run(args.json, target, runs=1 if args.quick else 3,
                  **({"calls": args.calls} if args.calls is not None else {}))
    else:
        bench.run(args.json, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eslbridge", description="Outbound dialing engine for FreeSWITCH.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("sim", help="run the FreeSWITCH simulator")
    p.add_argument("--listen", type=_hostport, default=("127.0.0.1", 8021), help="HOST:PORT (default 127.0.0.1:8021)")
    p.add_argument("--password", default="ClueCon")
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply ring/talk times (0 = instant)")
    p.add_argument("--sps", type=int, default=30, help="sessions per second limit (FreeSWITCH default 30)")
    p.add_argument("--max-sessions", type=int, default=1000)
    p.add_argument("--heartbeat", type=float, default=20.0, help="HEARTBEAT interval in seconds (0 = off)")
    p.add_argument("--talk", type=float, default=None, help="talk time of every answered call, seconds")
    p.add_argument("--shuffle", action="store_true", help="deliver each call's events in random order")
    p.add_argument("--cdr-dir", default=None, help="write CDRs as mod_cdr_csv does into DIR/Master.csv")
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("run", help="run the dialing engine")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the engine on embedded PostgreSQL and the simulator")
    p.add_argument("--numbers", type=int, default=200)
    p.add_argument("--json", action="store_true", help="print one JSON summary line")
    p.add_argument("--linger", action="store_true", help="keep the wallboard (and the engine) up after the last call, "
                                                         "until Ctrl-C")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("task", help="start, stop or show progress of a task")
    p.add_argument("action", choices=["start", "stop", "progress"])
    p.add_argument("task")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_task)


    p = sub.add_parser("numbers", help="import or list a task's numbers")
    p.add_argument("action", choices=["import", "list"])
    p.add_argument("task")
    p.add_argument("file", nargs="?", help="CSV or one phone per line (import)")
    p.add_argument("--status", type=int, default=None)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_numbers)

    p = sub.add_parser("apply", help="upsert tenants, lines, rules, groups, tasks and numbers from YAML or JSON")
    p.add_argument("file")
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("notify", help="run only the hangup-notification dispatcher")
    p.set_defaults(func=cmd_notify)

    p = sub.add_parser("webhooks", help="list, replay notifications; show or rotate a tenant's signing secret")
    wsub = p.add_subparsers(dest="action", required=True)
    w = wsub.add_parser("list")
    w.add_argument("--failed", action="store_true", help="only dead-lettered or retrying ones")
    w.add_argument("--limit", type=int, default=100)
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("replay")
    w.add_argument("ids", nargs="*", help="outbox ids")
    w.add_argument("--task")
    w.add_argument("--since", help="ISO time: dead letters created since")
    w = wsub.add_parser("secret", help="print the tenant's whsec_ secret (created if missing)")
    w.add_argument("tenant")
    w.add_argument("--rotate", action="store_true", help="new secret; the old one keeps signing for --grace hours")
    w.add_argument("--grace", type=float, default=24.0)
    p.set_defaults(func=cmd_webhooks)

    p = sub.add_parser("dnc", help="do-not-call lists: add, remove, import, list (a tenant's, or --global)")
    dsub = p.add_subparsers(dest="action", required=True)

    def owner(d: argparse.ArgumentParser) -> None:
        which = d.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", help="the tenant whose list it is")
        which.add_argument("--global", dest="global_list", action="store_true",
                           help="a global list: stops every tenant's calls")

    d = dsub.add_parser("add", help="add phones to a list (created if it does not exist)")
    d.add_argument("list")
    d.add_argument("phones", nargs="+")
    d.add_argument("--expires", help="ISO date or time the entries stop at (default: never)")
    d.add_argument("--reason")
    owner(d)
    d = dsub.add_parser("remove", help="take phones off a list")
    d.add_argument("list")
    d.add_argument("phones", nargs="+")
    owner(d)
    d = dsub.add_parser("import", help="import a CSV (phone, expires_at, reason) or one phone per line")
    d.add_argument("list")
    d.add_argument("file")
    d.add_argument("--json", action="store_true")
    owner(d)
    d = dsub.add_parser("list", help="the lists with their sizes, or (with LIST) a page of its entries")
    d.add_argument("list", nargs="?")
    d.add_argument("--after", help="entries after this phone (the last of the previous page)")
    d.add_argument("--limit", type=int, default=1000)
    d.add_argument("--all", action="store_true", help="every tenant's lists and the global ones")
    d.add_argument("--json", action="store_true")
    which = d.add_mutually_exclusive_group()
    which.add_argument("--tenant")
    which.add_argument("--global", dest="global_list", action="store_true")
    p.set_defaults(func=cmd_dnc)

    p = sub.add_parser("cdr", help="FreeSWITCH's CDR files (status); attempt records: export, purge")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("status", help="how far FreeSWITCH's CDR files are read (ESLBRIDGE_CDR_DIR)")
    c.add_argument("--json", action="store_true")
    c = csub.add_parser("export", help="stream every attempt since a time, oldest first")
    c.add_argument("--since", required=True, help="ISO date or time")
    c.add_argument("--until", help="ISO date or time (default: now)")
    c.add_argument("--task", help="only this task's attempts")
    c.add_argument("--tenant", help="only this tenant's attempts")
    c.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    c.add_argument("--output", help="a file (default: standard output)")
    c = csub.add_parser("purge", help="delete records older than the retention, in small batches")
    c.add_argument("--older-than", type=int, default=None, metavar="DAYS",
                   help="default ESLBRIDGE_RECORD_RETENTION_DAYS")
    p.set_defaults(func=cmd_cdr)

    p = sub.add_parser("api", help="serve the task HTTP API")
    p.add_argument("--listen", type=_hostport, default=("127.0.0.1", 8080), help="HOST:PORT (default 127.0.0.1:8080)")
    p.add_argument("--region", default=None, help="default region for phone numbers (default ESLBRIDGE_PHONE_REGION, CN)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the socket (default 1)")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("apps", help="API apps: create, set-key, keygen")
    asub = p.add_subparsers(dest="action", required=True)
    a = asub.add_parser("create", help="register an app for a tenant; prints its appId")
    a.add_argument("--tenant", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--public-key", help="PEM file")
    a = asub.add_parser("set-key", help="upload or rotate an app's public key")
    a.add_argument("app_id")
    a.add_argument("file")
    a = asub.add_parser("keygen", help="write a new RSA key pair: OUT.key and OUT.pub")
    a.add_argument("--out", default="eslbridge-app")
    p.set_defaults(func=cmd_apps)

    p = sub.add_parser("node", help="drain a FreeSWITCH node (pause, resume) or list nodes")
    p.add_argument("action", choices=["pause", "resume", "list"])
    p.add_argument("node", nargs="?", help="node name (as in caller_line.node and ESLBRIDGE_FS_NODES)")
    p.add_argument("--reason", default="", help="a note kept with the pause")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_node)

    p = sub.add_parser("ui", help="wallboard tokens: create, list, revoke")
    usub = p.add_subparsers(dest="what", required=True)
    u = usub.add_parser("token")
    tsub = u.add_subparsers(dest="action", required=True)
    t = tsub.add_parser("create", help="print a new token (shown once)")
    t.add_argument("--tenant", help="only this tenant's tasks (default: every tenant, an operator's token)")
    t.add_argument("--name", default="", help="a note")
    t = tsub.add_parser("list")
    t.add_argument("--json", action="store_true")
    t = tsub.add_parser("revoke")
    t.add_argument("id")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("bench", help="run a benchmark")
    p.add_argument("what", nargs="?", default="engine",
                   choices=["engine", "esl", "notify", "api", "pacing", "faults", "switch"],
                   help="engine (default): calls/s, refill latency, import rate, RSS; esl: event ingest; "
                        "notify: webhooks; api: HTTP requests/s and CSV import; "
                        "faults: outcomes through an engine kill, an ESL cut and a switch restart; "
                        "switch: the engine's calls/s and CPU per call beside a real FreeSWITCH (--switch)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--switch", metavar="HOST:PORT",
                   help="switch: the FreeSWITCH's event socket (password from ESLBRIDGE_BENCH_SWITCH_PASSWORD, "
                        "default ClueCon)")
    p.add_argument("--dial-string", help="switch: the line's dial string (default loopback/%%s/fast)")
    p.add_argument("--calls", type=int, help="switch: numbers per run (default 5,000)")
    p.add_argument("--cps", type=float, help="switch: originates per second at most (default 400)")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import os

    from .ops import logs

    try:
        logs.configure(os.environ.get("ESLBRIDGE_LOG_FORMAT", "text").strip().lower() or "text",
                       logging.DEBUG if args.verbose else logging.INFO, logs.configured_secrets())
    except ValueError as exc:
        print(f"eslbridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as exc:
        print(f"eslbridge: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
