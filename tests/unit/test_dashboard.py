"""docs/grafana-dashboard.json is valid and asks only for metrics eslbridge exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SOURCES = [ROOT / "eslbridge" / "ops" / "metrics.py", ROOT / "eslbridge" / "api" / "metrics.py"]


def exported() -> set[str]:
    """Metric family names as the code declares them (quoted string constants)."""
    return {m for src in SOURCES for m in re.findall(r'"(eslbridge_[a-z_]+)"', src.read_text())}


def test_every_metric_the_dashboard_queries_is_exported():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    names = {re.sub(r"_(total|bucket|count|sum)$", "", n) for e in exprs for n in re.findall(r"eslbridge_[a-z_]+", e)}
    assert names and names <= exported(), names - exported()


def test_every_exported_metric_is_documented():
    doc = (ROOT / "docs" / "operations.md").read_text()
    missing = [n for n in sorted(exported()) if f"`{n}" not in doc]
    assert missing == []
