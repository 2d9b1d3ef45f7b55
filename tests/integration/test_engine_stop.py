"""Stopping an engine ends every loop it started, even when stop() comes right after start()."""

from __future__ import annotations

import gevent
import pytest

from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine


@pytest.mark.parametrize("notify", [False, True], ids=["without-notifier", "with-notifier"])
def test_stop_right_after_start_lets_every_greenlet_return_on_its_own(db, switch, notify):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=100)
    settings = Settings(engine_id="e-stop", tick_s=0.02, notify=notify, webhook_allow_nets="127.0.0.0/8")
    engine = Engine(db, settings, [node]).start()
    engine.stop()
    assert engine.greenlets
    # A greenlet stop() had to kill holds GreenletExit as its value.
    outcomes = [(g.dead, g.exception, isinstance(g.value, gevent.GreenletExit)) for g in engine.greenlets]
    assert outcomes == [(True, None, False)] * len(engine.greenlets)
    assert engine.sweeping is False
