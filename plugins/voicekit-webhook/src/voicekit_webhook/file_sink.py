"""The file sink: one JSON file per call, for deployments with no server to post to.

``file = "tickets/{call_id}.json"`` (``{date}`` is the call's UTC start date,
``YYYY-MM-DD``) is resolved against the deployment folder. The file is written with
:func:`voicekit_core.files.write_private`: a temporary file in the same folder, fsynced,
renamed over the target, mode 0600 in a 0700 folder (it holds phone numbers). A reader
sees no file or the whole file, never half of one; a file that already holds the same
text is left alone, so a re-delivery changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from voicekit_core.files import write_private

if TYPE_CHECKING:
    from voicekit_core import CallReport

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class FileSinkError(Exception):
    """The call's file could not be written (the message names the path and why)."""


def file_path(template: str, report: CallReport, base_dir: Path) -> Path:
    """The file for ``report``: ``template`` with ``{call_id}`` / ``{date}`` filled in,
    relative to ``base_dir`` unless absolute. Raises :class:`FileSinkError` for a call id
    that is not a plain file name (it never leaves its folder)."""
    call_id = report.call_id
    if not _SAFE_ID.match(call_id) or ".." in call_id:
        raise FileSinkError(f"call id {call_id[:80]!r} is not usable as a file name")
    relative = template.format(call_id=call_id, date=f"{report.started_at:%Y-%m-%d}")
    path = Path(relative)
    return path if path.is_absolute() else base_dir / path


def write_file(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (0600); returns False when the file already
    held exactly ``text`` (nothing written). Raises :class:`FileSinkError` naming the
    path when it cannot be read or written."""
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass  # unreadable or not ours: replace it
    try:
        write_private(path, text)
    except OSError as exc:
        raise FileSinkError(f"could not write {path}: {exc.strerror or exc}") from None
    return True
