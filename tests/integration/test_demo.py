"""The quick-start demo runs the real engine end to end and reports what it did."""

from __future__ import annotations

import json

from eslbridge import demo


def test_demo_dials_everything_and_every_notification_is_verified(tmp_path, capsys):
    summary = demo.run(numbers=40, as_json=True, data_dir=tmp_path)
    assert summary["final"] == summary["numbers"] == 40
    assert sum(summary["by_status"].values()) == 40
    assert summary["by_status"]["answered"] > 0 and summary["by_status"]["busy"] > 0
    notes = summary["notifications"]
    assert notes["delivered"] == summary["calls"] == notes["verified_by_receiver"] and notes["rejected_by_receiver"] == 0
    assert summary["api_progress_of_first_task"]["percent"] == 100
    out, err = capsys.readouterr()
    # --json: one JSON line on standard output, the table on standard error
    assert out.count("\n") == 1 and json.loads(out) == json.loads(json.dumps(summary))
    assert "answered" in err
