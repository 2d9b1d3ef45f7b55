"""The task HTTP API (seed 000 `/v1/task…` routes and seed 001's signed edit call)."""
