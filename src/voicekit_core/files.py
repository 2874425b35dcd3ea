"""Private files: reports, spill files, exports and calendars hold phone numbers and
transcripts, so voicekit creates them 0600 in 0700 folders, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, mode 0600; a missing folder is
    created 0700. Readers see the old file or the new one, never half of it.

    Raises OSError (with the path) if the folder cannot be created or written.
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # mkstemp created it 0600
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
