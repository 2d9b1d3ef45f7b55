"""mod_cdr_csv in the simulator: a CDR line per channel, as FreeSWITCH 1.10.12 writes it.

Same file, same format, same moment: ``<dir>/Master.csv`` opened O_APPEND,
one ``write()`` per channel with eslbridge's template
(``dialplan/cdr_csv.conf.xml``), just before the channel's
CHANNEL_HANGUP_COMPLETE is sent, whether any client listens or not. Values
come from the hangup event's ``variable_*`` headers, as the template's
``${…}`` expand the channel's variables. ``rotate`` is what ``cdr_csv
rotate`` and ``fsctl send_sighup`` do with ``rotate-on-hup``: rename to
``Master.csv.YYYY-MM-DD-HH-MM-SS`` (local time) and open a new file.
Unlike ``legs=a`` every channel gets a line, including the B side of bridges
(the reader ignores those, as it ignores the loopback B legs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from ..cdr.format import FIELDS, render


class CdrWriter:
    def __init__(self, directory: Path | str, base: str = "Master.csv") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)  # as mod_cdr_csv does when it loads
        self.path = self.directory / base
        self._fd: int | None = None
        self.written = 0  # lines written since start
        self.rotated: list[Path] = []

    def write(self, get: Callable[[str], str | None]) -> None:
        """Append the CDR of the channel whose hangup event headers ``get`` reads."""
        values = {name: get("variable_" + name) or "" for name in FIELDS}
        values["uuid"] = values["uuid"] or get("Unique-ID") or ""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self._fd, render(values))
        self.written += 1

    def rotate(self) -> Path | None:
        """Rename the file to its rotated name and start a new one; the rotated path (None: nothing yet)."""
        self.close()
        if not self.path.exists():
            return None
        target = self.path.with_name(f"{self.path.name}.{time.strftime('%Y-%m-%d-%H-%M-%S')}")
        n = 0
        while target.exists():  # two rotations in one second: FreeSWITCH would overwrite; keep both here
            n += 1
            target = self.path.with_name(f"{self.path.name}.{time.strftime('%Y-%m-%d-%H-%M-%S')}.{n}")
        self.path.rename(target)
        self.rotated.append(target)
        return target

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
