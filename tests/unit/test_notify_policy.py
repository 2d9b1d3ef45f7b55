"""Delivery policy, target checks and signatures (pure)."""

from __future__ import annotations

import ipaddress
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from eslbridge.notify import policy, signing
from eslbridge.notify.signing import Keys
from eslbridge.notify.target import (
    Target,
    TargetRefused,
    TargetUnresolved,
    check,
    check_written,
    parse,
    parse_nets,
)

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
        ("http://loopback.example/", "::1"),
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


# -- IPv6 forms that carry an IPv4 address are judged by that address too --------------
@pytest.mark.parametrize(
    ("url", "inner"),
    [
        ("http://[::127.0.0.1]:8080/", "127.0.0.1"),  # IPv4-compatible (::/96), deprecated
        ("http://[::10.1.2.3]/", "10.1.2.3"),
        ("http://[::169.254.169.254]/", "169.254.169.254"),
        ("http://[64:ff9b::127.0.0.1]/", "127.0.0.1"),  # NAT64 well-known prefix
        ("http://[64:ff9b::192.168.0.1]/", "192.168.0.1"),
        ("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254"),
        ("http://[2002:7f00:1::]/", "127.0.0.1"),  # 6to4
        ("http://[2002:c0a8:101::1]/", "192.168.1.1"),
        ("http://[2002:a9fe:a9fe:1::1]/", "169.254.169.254"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "127.0.0.1"),  # Teredo: client = ~last 32 bits
        ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "10.0.0.1"),
    ],
)
def test_ipv6_forms_embedding_a_refused_ipv4_are_refused_by_that_address(url, inner):
    for how in ("literal", "dns"):
        target = url if how == "literal" else "http://aaaa.example/"
        answer = url.split("[")[1].split("]")[0]
        with pytest.raises(TargetRefused, match=f"which embeds {inner}, a private, loopback or reserved") as err:
            check(target, resolve=fake(answer))
        assert "ESLBRIDGE_WEBHOOK_ALLOW_NETS" in str(err.value)
    with pytest.raises(TargetRefused, match=f"embeds {inner}"):
        check_written(url)  # a literal: refused when the task is written too


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("http://[64:ff9b::8.8.8.8]/", "64:ff9b::808:808"),
        ("http://[2002:808:808::1]/", "2002:808:808::1"),
        ("http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"),  # client 8.8.8.8
        ("http://[2606:4700::1111]/", "2606:4700::1111"),
    ],
)
def test_ipv6_forms_embedding_a_public_ipv4_pass(url, ip):
    assert check(url, resolve=fake("0.0.0.0")).ip == ip  # a literal is not resolved


def test_the_local_use_nat64_prefix_is_refused_unless_allowed_and_its_ipv4_is_still_judged():
    with pytest.raises(TargetRefused, match="64:ff9b:1::808:808, a private"):
        check("http://[64:ff9b:1::8.8.8.8]/")
    allow = parse_nets("64:ff9b:1::/48")
    assert check("http://[64:ff9b:1::8.8.8.8]/", allow).ip == "64:ff9b:1::808:808"
    for inner in ("127.0.0.1", "10.0.0.1"):
        with pytest.raises(TargetRefused, match=f"embeds {inner}"):
            check(f"http://[64:ff9b:1::{inner}]/", allow)


def test_allow_list_applies_to_the_embedded_address_and_never_opens_it_through_the_ipv6_range():
    assert check("http://[::127.0.0.3]:9/", parse_nets("127.0.0.3/32")).ip == "::7f00:3"
    for wide in ("2002::/16", "2000::/3", "::/0"):
        with pytest.raises(TargetRefused, match="embeds 127.0.0.1"):
            check("http://[2002:7f00:1::]/", parse_nets(wide))


# -- one reading of a URL ----------------------------------------------------------------
def test_an_internationalised_host_is_called_by_its_idna_name_and_a_path_is_percent_encoded():
    asked = []
    t = check("https://Bücher.example/hook/ü?q=ä#frag", resolve=lambda h, p: asked.append((h, p)) or ["93.184.216.34"])
    assert asked == [("xn--bcher-kva.example", 443)]
    assert (t.host, t.path, t.host_header) == ("xn--bcher-kva.example", "/hook/%C3%BC?q=%C3%A4", "xn--bcher-kva.example")


def test_a_host_that_is_an_address_once_encoded_is_judged_as_that_address():
    allow = parse_nets("127.0.0.3/32")
    t = check("http://①②⑦.0.0.3:8080/", allow, resolve=fake("93.184.216.34"))
    assert (t.host, t.ip, t.host_header) == ("127.0.0.3", "127.0.0.3", "127.0.0.3:8080")
    with pytest.raises(TargetRefused, match="targets 127.0.0.1, a private"):
        check_written("http://①②⑦。0。0。1/")  # full-width digits and ideographic full stops


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://\u202eevil.example/", "not a valid internationalised domain name"),
        ("http://" + "ü" * 64 + ".example/", "not a valid internationalised domain name"),
        ("http://user:pw@hooks.example/", "must not hold credentials"),
        ("http://:pw@hooks.example/", "must not hold credentials"),
        ("http://hooks.example/a b", "space or control character"),
        ("http://hooks.example/\r\nX-Injected: 1", "space or control character"),
        ("http://hooks\x00.example/", "space or control character"),
        ("http://hooks.example/\x85", "space or control character"),
        ("http://hooks.example:0/", "port 0"),
        ("http://hooks.example:70000/", "malformed URL"),
        ("http://[127.0.0.1]/", "malformed"),
        ("hooks.example/hook", "must be an http(s) URL"),
        ("javascript:alert(1)", "scheme 'javascript' is not http(s)"),
        ("http://hooks.example/" + "a" * 2000, "longer than 2000 characters"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url, reason):
    with pytest.raises(TargetRefused, match=re.escape(reason)):
        parse(url)
    with pytest.raises(TargetRefused, match=re.escape(reason)):
        check(url, resolve=fake("93.184.216.34"))


def test_a_name_that_does_not_resolve_is_a_failed_try_not_a_refusal():
    def nxdomain(host, port):
        raise OSError(-2, "Name or service not known")

    with pytest.raises(TargetUnresolved, match="cannot resolve hooks.example"):
        check("http://hooks.example/", resolve=nxdomain)
    with pytest.raises(TargetUnresolved, match="no address"):
        check("http://hooks.example/", resolve=fake())


def test_when_written_literals_and_local_names_are_judged_and_other_names_wait_for_dns():
    for url in ("http://127.0.0.1:81/api/hangup_notify", "http://0x7f.1/", "http://2130706433/", "http://[::1]/",
                "http://10.0.0.1/", "http://localhost:81/", "http://api.LOCALHOST./"):
        with pytest.raises(TargetRefused, match="ESLBRIDGE_WEBHOOK_ALLOW_NETS"):
            check_written(url)
    assert check_written("http://rebinding.example/").literal is None  # its DNS answer is judged at delivery
    assert check_written("http://127.0.0.1:81/h", parse_nets("127.0.0.0/8")).literal == ipaddress.ip_address("127.0.0.1")
    assert check_written("http://localhost/", parse_nets("::1/128")).host == "localhost"


def test_ipv6_host_header_is_bracketed_and_default_ports_are_left_out():
    assert Target("http", "::1", 8080, "::1", "/").host_header == "[::1]:8080"
    assert Target("https", "hooks.example", 443, "1.2.3.4", "/").host_header == "hooks.example"
    assert Target("http", "hooks.example", 443, "1.2.3.4", "/").host_header == "hooks.example:443"


def test_signing_keys_never_show_in_a_repr():
    secret = signing.new_secret()
    keys = Keys([secret])
    assert secret not in repr(keys) and secret not in str(keys) and secret not in repr({"keys": keys})
    assert list(keys) == [secret]


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


def test_a_bad_allow_list_is_named_when_the_settings_are_read():
    from pydantic import ValidationError

    from eslbridge.config import Settings

    with pytest.raises(ValidationError, match="webhook_allow_nets"):
        Settings(webhook_allow_nets="10.0.0.0/8, nonsense")
    assert Settings(webhook_allow_nets="127.0.0.0/8, ::1").webhook_allow_nets == "127.0.0.0/8, ::1"
