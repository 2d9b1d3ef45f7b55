"""Command line: ``eslbridge VERB …``. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before psycopg or sockets are imported anywhere

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

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


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "esl":
        from .bench import esl

        esl.run(args.json, events=args.events)
        return 0
    raise CLIError(f"unknown benchmark {args.what!r}", EXIT_USAGE)


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
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("bench", help="run a benchmark")
    p.add_argument("what", nargs="?", default="esl", choices=["esl"])
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--events", type=int, default=200_000)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as exc:
        print(f"eslbridge: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
