"""Delivery policy, target checks and signatures (pure)."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from eslbridge.notify import policy, signing
from eslbridge.notify.target import TargetRefused, check, parse_nets

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, "delivered"), (204, "delivered"), (299, "delivered"), (301, "retry"), (302, "retry"), (400, "retry"),
     (410, "gone"), (429, "retry"), (500, "retry"), (503, "retry"), (None, "retry")],
)
def test_classify(status, verdict):
    assert policy.classify(status) == verdict


def test_schedule_covers_more_than_a_day_then_dead_letters():
    assert sum(policy.SCHEDULE_S) >= 24 * 3600
    rng = random.Random(1)
    at = NOW
    for n in range(1, len(policy.SCHEDULE_S) + 1):
        nxt = policy.next_try(n, at, rng=rng)
        assert not nxt.dead and nxt.at is not None
        assert 0.8 * policy.SCHEDULE_S[n - 1] <= (nxt.at - at).total_seconds() <= 1.2 * policy.SCHEDULE_S[n - 1]
    assert policy.next_try(len(policy.SCHEDULE_S) + 1, at).dead


def test_retry_after_is_honoured_in_both_forms():
    assert policy.retry_after("120", NOW) == 120
    assert policy.retry_after("Sun, 22 Nov 2026 09:10:00 GMT", NOW) == 600
    assert policy.retry_after("garbage", NOW) is None
    assert policy.next_try(1, NOW, asked_s=900).at == NOW + timedelta(seconds=900)


def fake(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://10.0.0.1/hook", "10.0.0.1"),
        ("http://[::ffff:127.0.0.1]:8080/", "::ffff:127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://localhost/", "::1"),
        ("http://100.64.1.1/", "100.64.1.1"),
        ("http://[fd00::1]/", "fd00::1"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://rebinding.example/", "192.168.1.10"),
    ],
)
def test_private_and_odd_targets_are_refused(url, resolved):
    with pytest.raises(TargetRefused, match="private, loopback or reserved"):
        check(url, resolve=fake(resolved))


def test_real_resolver_catches_numeric_spellings():
    for url in ("http://0x7f.1/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"):
        with pytest.raises(TargetRefused):
            check(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost", "http://[::1/"])
def test_only_http_urls_with_a_host(url):
    with pytest.raises(TargetRefused):
        check(url, resolve=fake("93.184.216.34"))


def test_public_target_is_pinned_to_the_checked_address():
    t = check("https://hooks.example.com/a?b=1", resolve=fake("93.184.216.34", "93.184.216.35"))
    assert (t.scheme, t.host, t.port, t.ip, t.path) == ("https", "hooks.example.com", 443, "93.184.216.34", "/a?b=1")


def test_allow_list_opens_a_private_range():
    allow = parse_nets("127.0.0.0/8, ::1/128")
    assert check("http://127.0.0.1:9000/h", allow, resolve=fake("127.0.0.1")).ip == "127.0.0.1"
    assert check("http://[::ffff:127.0.0.1]/", allow, resolve=fake("::ffff:127.0.0.1")).ip == "127.0.0.1"
    with pytest.raises(TargetRefused):
        check("http://10.1.1.1/", allow, resolve=fake("10.1.1.1"))
    assert ipaddress.ip_network("::1/128") in allow


def test_rotation_signs_with_every_active_secret():
    old, new = signing.new_secret(), signing.new_secret()
    body = '{"type":"call.hangup"}'
    headers = signing.headers("evt_1", datetime.now(UTC), body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == {"type": "call.hangup"}
    assert Webhook(new).verify(body, headers) == {"type": "call.hangup"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("hangup", "answer"), headers)
