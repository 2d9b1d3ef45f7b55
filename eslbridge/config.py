"""Settings from ``ESLBRIDGE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .esl.link import NodeConfig


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
    reconcile_after_s: float = 10.0  # an in-flight attempt this old with no channel on FreeSWITCH is LOST

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
