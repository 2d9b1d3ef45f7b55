"""Settings from ``ESLBRIDGE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .esl.link import NodeConfig
from .esl.originate import DEFAULT_ALLOWED_APPS, VariablePolicy
from .notify.nets import parse_nets


def parse_listen(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[::1]:9400`` for IPv6) as (host, port), or None if it is not one."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        return None
    return host, int(port)

MIN_RETENTION_DAYS = 31


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESLBRIDGE_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL; unset: embedded PostgreSQL in data_dir"
    )
    data_dir: Path = Field(default=Path(".eslbridge"), description="embedded PostgreSQL and local state")
    engine_id: str = Field(default_factory=socket.gethostname, description="stable id of this engine process")
    fs_host: str = "127.0.0.1"
    fs_port: int = 8021
    fs_password: SecretStr = SecretStr("ClueCon")
    fs_name: str = "fs1"
    fs_cps: float = 30.0
    fs_nodes: str = Field(default="", description="several nodes: name=host:port:password:cps,…")
    phone_region: str = Field(default="CN", description="default region of imported phone numbers")
    tick_s: float = 0.05
    claim_batch: int = 200
    job_grace_s: float = 2.0  # wait this long after -ERR for channel events before trusting it
    webhook_allow_nets: str = Field(default="", description="CIDRs webhooks may target despite being private, e.g. 127.0.0.0/8")
    notify_concurrency: int = 64
    notify: bool = Field(default=True, description="run the notification dispatcher inside `eslbridge run`")
    reconcile_after_s: float = 10.0  # an in-flight attempt this old with no channel on FreeSWITCH is settled
    # FreeSWITCH's CDRs (mod_cdr_csv, dialplan/cdr_csv.conf.xml): what settles a call whose events were missed.
    cdr_dir: str = Field(default="", description="the node's mod_cdr_csv directory (<log-base>/cdr-csv); empty: no CDRs")
    cdr_dirs: str = Field(default="", description="several nodes: name=directory,…")
    cdr_file: str = Field(default="Master.csv", description="the file mod_cdr_csv writes (rotated copies: FILE.*)")
    cdr_poll_s: float = Field(default=0.25, gt=0, description="how often the CDR files are looked at")
    cdr_grace_s: float = Field(default=10.0, ge=0, description="a call gone from the switch whose CDR cannot be read "
                               "is LOST after this long")
    cdr_keep_days: float = Field(default=7.0, gt=0, description="stored CDRs are deleted after this many days")
    # What tenants may put in an originate (SPEC §4); comma-separated lists.
    allowed_apps: str = Field(default=",".join(sorted(DEFAULT_ALLOWED_APPS)),
                              description="applications execute_on_* variables may run")
    allowed_variables: str = Field(default="", description="variable names allowed although they look dangerous")
    allowed_contexts: str = Field(default="", description="destination contexts tasks may name; empty: any")
    dial_prefixes: str = Field(default="", description="dial string prefixes lines and tasks may use; empty: any")

    abandon_after_s: float = Field(default=2.0, gt=0, le=30,
                                   description="agent tasks: an answered call no agent took this long after the answer is abandoned")
    safe_harbor: str = Field(default="silence_stream://1000",
                             description="agent tasks: the recording an abandoned call hears (a sound file of the switch)")

    @field_validator("webhook_allow_nets")
    @classmethod
    def _cidrs(cls, v: str) -> str:
        parse_nets(v)  # a bad CIDR is named when the settings are read, not at the first webhook
        return v

    metrics_listen: str = Field(default="", description="HOST:PORT of `eslbridge run`'s /metrics, /healthz and /readyz; empty: off")
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per line")

    @field_validator("metrics_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        if value and parse_listen(value) is None:
            raise ValueError(f"expected HOST:PORT (e.g. 0.0.0.0:9400), got {value[:64]!r}")
        return value

    def metrics_address(self) -> tuple[str, int] | None:
        """(host, port) of the operations endpoint, or None when it is off."""
        return parse_listen(self.metrics_listen) if self.metrics_listen else None

    record_retention_days: int = Field(
        default=0, ge=0, le=36_600,
        description="attempt records (and finished notifications) older than this many days are deleted, "
                    "in small batches, by `eslbridge run` once an hour; 0 keeps them (US rules ask for 5 years: 1827)")

    @field_validator("record_retention_days")
    @classmethod
    def _keeps_a_month(cls, v: int) -> int:
        # Contact caps read 7 days of attempts and agent tasks' abandonment 30: retention keeps those.
        if 0 < v < MIN_RETENTION_DAYS:
            raise ValueError(f"must be 0 (keep) or at least {MIN_RETENTION_DAYS} days")
        return v

    def policy(self) -> VariablePolicy:
        """The originate policy the API, `apply` and the dialer all judge tasks by."""
        def items(text: str) -> list[str]:
            return [x.strip() for x in text.split(",") if x.strip()]

        return VariablePolicy(
            allowed_apps=frozenset(items(self.allowed_apps)),
            extra_allowed=frozenset(items(self.allowed_variables)),
            contexts=frozenset(items(self.allowed_contexts)),
            dial_prefixes=tuple(items(self.dial_prefixes)),
        )

    def cdr_directories(self) -> dict[str, Path]:
        """Each node's CDR directory: ``cdr_dirs`` (name=dir,…), else ``cdr_dir`` for ``fs_name``.

        Raises ValueError naming the setting for an item without a name or a directory.
        """
        if not self.cdr_dirs.strip():
            return {self.fs_name: Path(self.cdr_dir)} if self.cdr_dir.strip() else {}
        out: dict[str, Path] = {}
        for item in self.cdr_dirs.split(","):
            name, _, directory = item.strip().partition("=")
            if not name.strip() or not directory.strip():
                raise ValueError(f"ESLBRIDGE_CDR_DIRS: {item.strip()!r} is not name=directory")
            out[name.strip()] = Path(directory.strip())
        return out

    def nodes(self) -> list[NodeConfig]:
        if not self.fs_nodes.strip():
            return [
                NodeConfig(
                    name=self.fs_name,
                    host=self.fs_host,
                    port=self.fs_port,
                    password=self.fs_password.get_secret_value(),
                    calls_per_second=self.fs_cps,
                )
            ]
        nodes = []
        for item in self.fs_nodes.split(","):
            name, _, spec = item.strip().partition("=")
            host, port, password, cps = (spec.split(":") + ["", "", "ClueCon", "30"])[:4]
            nodes.append(NodeConfig(name=name, host=host, port=int(port or 8021), password=password or "ClueCon", calls_per_second=float(cps or 30)))
        return nodes
