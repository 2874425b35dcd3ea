"""The file sink: one private JSON file per call, atomic, idempotent."""

from __future__ import annotations

import json
import os
import stat

import pytest
from voicekit_webhook.deliver import WebhookDeliveryError, deliver
from voicekit_webhook.settings import WebhookSettings
from webhook_support import make_report

from voicekit_core.delivery_state import DeliveryState

TICKET = {
    "kind": "maintenance",
    "summary": "Kitchen sink leaking under the cabinet",
    "urgency": "urgent",
    "caller_name": "Ada Lovelace",
    "caller_phone": "+14155550123",
    "unit": "4B",
    "entry_permitted": True,
}


def file_settings(**table) -> WebhookSettings:
    return WebhookSettings.model_validate({"file": "tickets/{call_id}.json", **table})


async def test_writes_one_private_file_per_call(tmp_path):
    report = make_report()
    state = DeliveryState()

    result = await deliver(report, file_settings(), state, base_dir=tmp_path)

    path = tmp_path / "tickets" / f"{report.call_id}.json"
    assert result == {"file": {"path": f"tickets/{report.call_id}.json", "written": True}}
    assert json.loads(path.read_text(encoding="utf-8")) == report.model_dump(
        mode="json", exclude={"post_call"}
    )
    assert "¿me ayuda?" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    assert state.get("file") == {"path": f"tickets/{report.call_id}.json"}


async def test_a_second_delivery_leaves_the_file_alone(tmp_path):
    report = make_report(extracted=TICKET)
    settings = file_settings(payload="extracted")
    await deliver(report, settings, DeliveryState(), base_dir=tmp_path)
    path = tmp_path / "tickets" / f"{report.call_id}.json"
    assert json.loads(path.read_text(encoding="utf-8")) == TICKET
    before = path.stat()

    again = await deliver(report, settings, DeliveryState(), base_dir=tmp_path)

    assert again["file"]["written"] is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


async def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    report = make_report()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(WebhookDeliveryError) as caught:
        await deliver(report, file_settings(), DeliveryState(), base_dir=tmp_path)

    folder = tmp_path / "tickets"
    assert os.listdir(folder) == []  # neither the file nor a temporary one
    assert f"could not write {folder / report.call_id}.json: No space left on device" in str(
        caught.value
    )


async def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    (tmp_path / "tickets").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(WebhookDeliveryError, match=r"file: could not write .*tickets/"):
        await deliver(make_report(), file_settings(), DeliveryState(), base_dir=tmp_path)


async def test_date_placeholder_absolute_path_and_empty_extraction(tmp_path):
    report = make_report(extracted=TICKET)
    outside = tmp_path / "elsewhere"
    settings = WebhookSettings.model_validate(
        {"file": f"{outside}/{{date}}/{{call_id}}.json", "payload": "extracted"}
    )
    result = await deliver(report, settings, DeliveryState(), base_dir=tmp_path / "deployment")
    expected = outside / "2026-01-05" / f"{report.call_id}.json"
    assert result["file"]["path"] == str(expected) and expected.is_file()

    skipped = await deliver(
        make_report("20260105T100000-aaaaaa", extracted={}),
        settings,
        DeliveryState(),
        base_dir=tmp_path,
    )
    assert "skipped" in skipped["file"]
    assert not (outside / "2026-01-05" / "20260105T100000-aaaaaa.json").exists()


async def test_a_call_id_is_never_a_path(tmp_path):
    with pytest.raises(WebhookDeliveryError, match="not usable as a file name"):
        await deliver(
            make_report("../../etc/passwd"), file_settings(), DeliveryState(), base_dir=tmp_path
        )
    assert not (tmp_path / "tickets").exists()
