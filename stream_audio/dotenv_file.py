"""The project's .env as setup reads and fills it in: only the names whose value differs are set,
every other line and comment kept, and the file put back as it was if a later step fails."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values, set_key

from stream_audio.settings import Setting

PLAIN = re.compile(r"[\w./:+-]+")  # a value .env holds as it is, unquoted


class DotenvFile:
    """One project's .env, and what it held before this run changed it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._changed = False
        self._before: bytes | None = None  # None: there was no .env

    def values(self) -> dict[str, str]:
        """Every name .env gives a value; none if there is no .env (or it is not a file)."""
        return {name: value for name, value in dotenv_values(self.path).items() if value is not None}

    def cannot_write(self) -> str | None:
        """Why setup could not write .env, found before anything is created; None if it can."""
        if self.path.exists() and not self.path.is_file():
            return f"{self.path} is not a file: move it away, for setup writes the settings it makes there"
        if not os.access(self.path.parent, os.W_OK):
            return f"{self.path.parent} is not writable, and .env is written beside its old self there"
        return None

    def set(self, wanted: Mapping[Setting, str]) -> list[str]:
        """Set each setting whose value in .env differs from the wanted one, keeping every other line;
        the names set. Values were checked for their shape before: none holds a line break."""
        in_file = self.values()
        written = []
        for setting, value in wanted.items():
            if setting.text_in(in_file).removeprefix("+") == value:
                continue
            if not self._changed:
                self._before = self.path.read_bytes() if self.path.exists() else None
                self._changed = True
            set_key(self.path, setting.name, value, quote_mode="never" if PLAIN.fullmatch(value) else "always")
            written.append(setting.name)
        return written

    def put_back(self) -> None:
        """.env as it was before this run changed it."""
        if not self._changed:
            return
        if self._before is None:
            self.path.unlink(missing_ok=True)
        else:
            self.path.write_bytes(self._before)
        self._changed = False
