"""Hangup notifications over real HTTP: signed, retried, never lost."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from eslbridge.notify.dispatcher import Dispatcher
from eslbridge.notify.http import Client
from eslbridge.notify.policy import SCHEDULE_S
from eslbridge.notify.target import parse_nets, system_resolver
from eslbridge.store import outbox as outbox_store
from eslbridge.store import recording
from tests import factories as f
from tests.helpers import wait_for
from tests.receiver import Receiver, hang

LOOPBACK = parse_nets("127.0.0.0/8")
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "notification.schema.json").read_text())


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def outbox(db, url: str, n: int, user: str = "t1") -> list[str]:
    f.tenant(db, user)
    ids = []
    with db.transaction() as conn:
        for i in range(n):
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            recording.add_notifications(conn, [{
                "event_id": event_id, "user_id": user, "task_id": str(uuid.uuid4()), "attempt_id": i, "url": url,
                "payload": {"type": "call.hangup", "id": event_id, "data": {"n": i}},
            }])
    return ids


def secrets_of(db, user="t1"):
    with db.connection() as conn:
        return outbox_store.signing_secrets(conn, [user], datetime.now(UTC))[user]


def dispatcher(db, clock=None, **kw):
    kw.setdefault("client", Client(connect_timeout_s=1, total_timeout_s=1))
    kw.setdefault("allow_nets", LOOPBACK)
    return Dispatcher(db, clock=clock or Clock(), **kw)


def drain(d: Dispatcher) -> None:
    """Run claims until nothing is due, then wait for deliveries and record them."""
    while d.run_once():
        pass
    d.pool.join(timeout=30)
    d.flush()


def rows(db):
    with db.connection() as conn:
        return conn.execute("SELECT * FROM notification_outbox ORDER BY id").fetchall()


def test_engine_calls_are_notified_signed_and_match_the_schema(db, receiver):
    from eslbridge.sim.server import SimConfig, Switch
    from tests.integration.test_engine import engine_for, phones

    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    line = f.line(db)
    task = f.task(db, line, phones(9), call_notify_url=receiver.url, call_notify_type=2, maximumcall=9)
    engine = engine_for(db, switch, notify=True, webhook_allow_nets="127.0.0.0/8")
    try:
        wait_for(lambda: f.all_final(db, task), timeout=30)
        wait_for(lambda: len(receiver.requests) == 9 and all(r["delivered_at"] for r in rows(db)), timeout=30)
    finally:
        engine.stop()
        switch.stop()
    secret = secrets_of(db)[0]
    payloads = [Webhook(secret).verify(r["body"], r["headers"]) for r in receiver.requests]
    for p, req in zip(payloads, receiver.requests):
        jsonschema.validate(p, SCHEMA)
        assert p["id"] == req["headers"]["webhook-id"] and len(req["body"]) < 20_000
    statuses = sorted(p["data"]["status_name"] for p in payloads)
    assert statuses.count("answered") == 5 and "busy" in statuses and "invalid" in statuses
    assert all(r["delivered_at"] for r in rows(db))


def test_notify_type_1_sends_only_unanswered_calls(db, receiver):
    from eslbridge.sim.server import SimConfig, Switch
    from tests.integration.test_engine import engine_for, phones

    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    line = f.line(db)
    task = f.task(db, line, phones(9), call_notify_url=receiver.url, call_notify_type=1, maximumcall=9)
    engine = engine_for(db, switch)
    try:
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
        switch.stop()
    assert len(rows(db)) == 4  # busy, no answer, unallocated, rejected


def test_receiver_down_for_an_hour_then_up_gets_every_notification(db, free_port):
    ids = outbox(db, f"http://127.0.0.1:{free_port}/hook", 20)
    clock = Clock()
    d = dispatcher(db, clock)
    for _ in range(12):  # an hour in 5-minute steps, receiver down
        drain(d)
        clock.advance(minutes=5)
    assert all(r["attempts"] >= 2 and r["delivered_at"] is None and r["dead_at"] is None for r in rows(db))
    up = Receiver(free_port).start()
    try:
        for _ in range(12):
            drain(d)
            clock.advance(minutes=30)
        assert set(up.ids()) == set(ids)
    finally:
        up.stop()
    assert all(r["delivered_at"] for r in rows(db))
    with db.connection() as conn:
        tries = conn.execute("SELECT count(*) AS n, count(http_status) AS ok FROM delivery_attempt").fetchone()
    assert tries["n"] > 40 and tries["ok"] == 20


def test_500_then_200_is_retried_and_delivered(db, receiver):
    answers = iter(["500 Internal Server Error", "200 OK"])
    receiver.behave = lambda req: (next(answers), [], b"")
    [event] = outbox(db, receiver.url, 1)
    clock = Clock()
    d = dispatcher(db, clock)
    drain(d)
    assert rows(db)[0]["attempts"] == 1 and rows(db)[0]["last_error"] == "HTTP 500"
    drain(d)
    assert len(receiver.requests) == 1  # not due yet
    clock.advance(seconds=10)
    drain(d)
    assert receiver.ids() == [event, event] and rows(db)[0]["delivered_at"]


def test_retry_after_is_honoured(db, receiver):
    receiver.behave = lambda req: ("429 Too Many Requests", [("Retry-After", "600")], b"")
    outbox(db, receiver.url, 1)
    clock = Clock()
    d = dispatcher(db, clock)
    drain(d)
    assert rows(db)[0]["next_attempt_at"] - clock.now >= timedelta(seconds=599)


def test_hanging_receiver_times_out_and_is_retried(db, receiver):
    receiver.behave = hang(5)
    outbox(db, receiver.url, 1)
    d = dispatcher(db)
    drain(d)
    r = rows(db)[0]
    assert r["delivered_at"] is None and r["attempts"] == 1 and "Timeout" in r["last_error"]


def test_410_stops_and_dead_letters(db, receiver):
    receiver.behave = lambda req: ("410 Gone", [], b"")
    outbox(db, receiver.url, 1)
    d = dispatcher(db)
    drain(d)
    r = rows(db)[0]
    assert r["dead_at"] and "410" in r["dead_reason"]


def test_redirect_is_a_failure_and_never_followed(db, receiver):
    other = Receiver().start()
    try:
        receiver.behave = lambda req: ("301 Moved Permanently", [("Location", other.url)], b"")
        outbox(db, receiver.url, 1)
        drain(dispatcher(db))
        assert other.requests == [] and rows(db)[0]["last_error"] == "HTTP 301"
    finally:
        other.stop()


def test_huge_response_is_not_read(db, receiver):
    receiver.behave = lambda req: ("200 OK", [], b"x" * (50 * 1024 * 1024))
    outbox(db, receiver.url, 1)
    drain(dispatcher(db))
    assert rows(db)[0]["delivered_at"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://10.0.0.1/hook", "http://[::ffff:127.0.0.1]:9/h", "http://0x7f.1:9/h"])
def test_forbidden_targets_are_dead_lettered_with_a_reason(db, url):
    outbox(db, url, 1)
    d = Dispatcher(db, clock=Clock())  # no allow-list
    drain(d)
    r = rows(db)[0]
    assert r["dead_at"] and r["dead_reason"].startswith("target refused")


def test_dispatcher_killed_mid_delivery_loses_nothing(db, receiver):
    receiver.behave = hang(30)
    ids = outbox(db, receiver.url, 5)
    clock = Clock()
    first = dispatcher(db, clock, lease_s=60)
    first.run_once()
    wait_for(lambda: len(receiver.requests) == 5)
    first.pool.kill()  # crash: nothing recorded
    receiver.behave = lambda req: ("200 OK", [], b"")
    second = dispatcher(db, clock, lease_s=60)
    drain(second)
    assert len(receiver.requests) == 5  # leases still held
    clock.advance(seconds=61)
    drain(second)
    assert sorted(set(receiver.ids())) == sorted(ids)  # duplicates only with the same id
    assert all(r["delivered_at"] for r in rows(db))


def test_dead_letters_are_listed_and_replayed(db, receiver):
    receiver.behave = lambda req: ("410 Gone", [], b"")
    ids = outbox(db, receiver.url, 2)
    drain(dispatcher(db))
    with db.connection() as conn:
        assert {r["event_id"] for r in outbox_store.list_notifications(conn, failed_only=True)} == set(ids)
    receiver.behave = lambda req: ("200 OK", [], b"")
    with db.transaction() as conn:
        assert outbox_store.replay_notifications(conn) == 2
    drain(dispatcher(db))
    assert all(r["delivered_at"] for r in rows(db))


def test_database_outage_during_delivery_loses_nothing(db, db_url, receiver):
    from eslbridge.store.db import Database

    ids = outbox(db, receiver.url, 10)
    other = Database(db_url, min_size=1, max_size=4, application_name="notify-under-test").open()
    clock = Clock()
    d = dispatcher(other, clock)
    try:
        d.run_once()
        d.pool.join(timeout=10)
        with db.connection() as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'notify-under-test'")
        with contextlib.suppress(psycopg.OperationalError):
            d.flush()  # the results are kept for the next flush
        wait_for(lambda: (d.flush() if True else None) is None and all(r["delivered_at"] for r in rows(db)), timeout=10)
    finally:
        other.close()
    assert sorted(set(receiver.ids())) == sorted(ids)


# -- poisoned targets: every notification ends, no secret is ever printed -------------------
def nxdomain(host, port):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class SigningBreaks:
    """A signer that fails quoting its key, as a library's error message might."""

    def __init__(self, key: str) -> None:
        self.key = key

    def sign(self, *args):
        raise ValueError(f"cannot sign with {self.key}")


FAILURES = ["bad-url", "refused", "dns", "timeout", "tls", "5xx", "signing", "sending", "idna", "idna-refused"]


@pytest.mark.parametrize("path", FAILURES)
def test_no_failure_path_prints_a_secret_and_each_ends_with_a_reason(db, receiver, caplog, capfd, monkeypatch, path):
    from eslbridge.notify import signing

    f.tenant(db)
    old, current = signing.new_secret(), signing.new_secret()
    with db.transaction() as conn:  # a rotation in progress: two secrets sign
        outbox_store.add_secret(conn, "t1", old, None)
        outbox_store.add_secret(conn, "t1", current, 3600)
    keys = secrets_of(db)
    assert set(keys) == {old, current}
    idna_rx = Receiver(host="127.0.0.3").start()
    url = {
        "bad-url": "http://[::1/hook", "refused": "http://10.0.0.1/hook", "dns": "http://hooks.example/hook",
        "timeout": receiver.url, "tls": receiver.url.replace("http:", "https:"), "5xx": receiver.url,
        "signing": receiver.url, "sending": receiver.url,
        "idna": f"http://①②⑦.0.0.3:{idna_rx.port}/hook", "idna-refused": f"http://①⓪.0.0.3:{idna_rx.port}/hook",
    }[path]
    if path == "timeout":
        receiver.behave = hang(5)
    if path == "5xx":
        receiver.behave = lambda req: ("503 Service Unavailable", [], b"")
    if path == "signing":
        monkeypatch.setattr(signing, "Webhook", SigningBreaks)
    if path == "sending":
        def post(self, target, body, headers):
            raise ValueError(f"Invalid header value {headers!r} for {keys}")

        monkeypatch.setattr(Client, "post", post)
    caplog.set_level(logging.DEBUG)
    outbox(db, url, 1)
    allow = parse_nets("127.0.0.1/32, 127.0.0.3/32")
    try:
        drain(dispatcher(db, resolve=nxdomain if path == "dns" else system_resolver, allow_nets=allow))
    finally:
        idna_rx.stop()
    [r] = rows(db)
    if path == "idna":
        assert r["delivered_at"] and idna_rx.requests[0]["headers"]["host"] == f"127.0.0.3:{idna_rx.port}"
    else:  # dead with its reason, or failed with its reason and a next try on the schedule
        assert r["delivered_at"] is None and r["last_error"]
        assert (r["dead_at"] and r["dead_reason"]) or (r["next_attempt_at"] and r["attempts"] == 1)
    with db.connection() as conn:
        tries = conn.execute("SELECT * FROM delivery_attempt").fetchall()
    assert len(tries) == 1
    out, err = capfd.readouterr()
    printed = "\n".join([caplog.text, out, err, repr(r), repr(tries)])
    for secret in keys:  # nor any part of one (a repr may cut it short)
        key = secret.removeprefix("whsec_")
        assert not [key[i:i + 12] for i in range(len(key) - 11) if key[i:i + 12] in printed]


def test_an_exception_while_sending_is_retried_on_the_schedule_then_dead_lettered(db, receiver, monkeypatch, caplog):
    def post(self, target, body, headers):
        raise UnicodeEncodeError("latin-1", "ünicode", 0, 1, "ordinal not in range(256)")

    monkeypatch.setattr(Client, "post", post)
    outbox(db, receiver.url, 1)
    clock = Clock()
    d = dispatcher(db, clock)
    for n in range(1, len(SCHEDULE_S) + 2):
        drain(d)
        r = rows(db)[0]
        assert r["attempts"] == n and r["last_error"] == "internal error while sending: UnicodeEncodeError"
        if n <= len(SCHEDULE_S):  # the schedule's next try, not a lapsed claim
            assert r["dead_at"] is None and r["next_attempt_at"] - clock.now >= timedelta(seconds=SCHEDULE_S[n - 1] * 0.8)
        clock.advance(seconds=36000 * 1.3)
    assert r["dead_at"] and r["dead_reason"] == f"gave up after {len(SCHEDULE_S) + 1} tries: internal error while sending: UnicodeEncodeError"
    assert "internal error while sending: UnicodeEncodeError" in caplog.text and "post" in caplog.text  # where, for a fix


def test_internationalised_names_are_resolved_and_sent_in_their_idna_form(db, receiver):
    asked = []

    def resolve(host, port):
        asked.append(host)
        return ["127.0.0.1"]

    outbox(db, f"http://Bücher.test:{receiver.port}/hook/ü?q=ä", 1)
    outbox(db, "http://\u202eevil.test/hook", 1)
    drain(dispatcher(db, resolve=resolve))
    delivered, refused = rows(db)
    assert delivered["delivered_at"] and asked == ["xn--bcher-kva.test"]
    [req] = receiver.requests
    assert req["headers"]["host"] == f"xn--bcher-kva.test:{receiver.port}" and req["path"].encode("latin-1") == "/hook/ü".encode()
    assert refused["dead_at"] and "not a valid internationalised domain name" in refused["dead_reason"]


@pytest.mark.parametrize("form", ["[::{ip}]", "[64:ff9b::{ip}]", "[2002:7f00:1::1]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
                                  "[::ffff:{ip}]"])
def test_ipv6_forms_of_loopback_never_reach_a_listening_receiver(db, receiver, form):
    outbox(db, f"http://{form.format(ip='127.0.0.1')}:{receiver.port}/hook", 1)
    drain(Dispatcher(db, clock=Clock()))  # no allow-list
    r = rows(db)[0]
    assert r["dead_at"] and "127.0.0.1, a private, loopback or reserved address" in r["dead_reason"]
    assert receiver.requests == []
