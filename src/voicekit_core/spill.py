"""Spill files: a finished call's report survives when the journal cannot be written.

If the store is unwritable at the end of a call (a path under a file, ``/dev/null``, a
database locked for longer than its busy timeout, Postgres down), the report and the
names of its ``post_call`` plugins are written atomically to a private JSON file. The next
``voicekit journal retry`` imports every spill file into the journal (then deletes it)
before delivering. Nothing about the call is lost; the command that ran the call exits
non-zero and says where the file is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from .calls import CallReport
from .files import write_private
from .redaction import redact

logger = logging.getLogger("voicekit.spill")


def spill_dirs(base_dir: Path) -> list[Path]:
    """Where spill files go, in order of preference: beside the deployment, then the
    user's state folder, then the temp folder (each private to the user)."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    # outside the deployment folder, one sub-folder per deployment keeps them apart
    tag = hashlib.sha256(str(base_dir.resolve()).encode()).hexdigest()[:12]
    return [
        base_dir / ".voicekit" / "spill",
        state / "voicekit" / "spill" / tag,
        Path(tempfile.gettempdir()) / f"voicekit-spill-{os.getuid()}" / tag,
    ]


def write_spill(report: CallReport, plugins: list[str], base_dir: Path) -> Path:
    """Write ``report`` to the first usable spill folder; returns the file.

    Raises OSError only if no folder at all could be written.
    """
    payload = redact(
        json.dumps({"report": report.model_dump(mode="json"), "plugins": plugins}, indent=1)
    )
    last_error: OSError | None = None
    for folder in spill_dirs(base_dir):
        try:
            return write_private(folder / f"{report.call_id}.json", payload)
        except OSError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def pending_spills(base_dir: Path) -> list[Path]:
    """Every spill file waiting to be imported, oldest call first."""
    found: list[Path] = []
    for folder in spill_dirs(base_dir):
        if folder.is_dir():
            found += sorted(folder.glob("*.json"))
    return found


def read_spill(path: Path) -> tuple[CallReport, list[str]]:
    """The report and plugin names in a spill file. Raises ValueError if it is corrupt."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return CallReport.model_validate(data["report"]), [str(p) for p in data.get("plugins", [])]
