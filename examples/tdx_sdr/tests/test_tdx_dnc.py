"""The example's do-not-call list: a bad line is a clear error naming the file, the line
and the value (exit status 2 from the CLI), never a raw ValueError or a misreport."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicekit_core import to_e164
from voicekit_core.cli import build_cli
from voicekit_core.errors import InputError, VoicekitError


def us(raw: str) -> str:
    return to_e164(raw, "US")


BAD_DNC = """\
# Do-not-call list
+1 206 555 0110   # Grace Mitchell
(212) 555-0102
555-CALL-NOW      # a typo
+44 20 7946 0958
12345
"""


def test_load_dnc_reads_any_format_and_skips_comments(tmp_path, local_plugin):
    path = tmp_path / "dnc.txt"
    path.write_text("# list\n\n+1 206 555 0110  # Grace\n(212) 555-0102\n", encoding="utf-8")
    assert local_plugin.load_dnc(path, us) == {"+12065550110", "+12125550102"}


def test_load_dnc_names_the_file_line_and_value_of_every_bad_entry(tmp_path, local_plugin):
    path = tmp_path / "dnc.txt"
    path.write_text(BAD_DNC, encoding="utf-8")
    with pytest.raises(local_plugin.DncListError) as excinfo:
        local_plugin.load_dnc(path, us)
    error = excinfo.value
    assert isinstance(error, InputError) and isinstance(error, VoicekitError)
    assert [(p.key, p.value) for p in error.problems] == [
        ("line 4", "555-CALL-NOW"),
        ("line 6", "12345"),
    ]
    assert all(p.file == str(path) for p in error.problems)
    assert str(error.problems[0]).startswith(f"{path}: line 4 = 555-CALL-NOW: ")
    assert str(error.problems[1]) == (
        f"{path}: line 6 = 12345: not a valid phone number for its region"
    )


def test_dnc_file_that_is_not_text_is_a_clear_error(tmp_path, local_plugin):
    path = tmp_path / "dnc.txt"
    path.write_bytes(b"+1 206 555 0110\n\xff\xfe\n")
    with pytest.raises(local_plugin.DncListError, match="not UTF-8 text"):
        local_plugin.load_dnc(path, us)


def test_dnc_entries_follow_the_deployments_phone_policy(example):
    """With ``[leads] allow_vanity = true`` a vanity entry is read as digits, as leads
    are, instead of failing the list."""
    config = example / "voicekit.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('default_region = "US"', 'default_region = "US"\nallow_vanity = true'),
        encoding="utf-8",
    )
    (example / "dnc.txt").write_text("+1 206-555-0110\n(415) 55CALL1\n", encoding="utf-8")
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(example), "--lead-phone", "+12065550110"]
    )
    assert result.exit_code == 2, result.output
    assert "+12065550110 is on the do-not-call list (dnc.txt)" in result.output


def test_simulate_with_a_bad_dnc_line_exits_2_naming_it(example):
    (example / "dnc.txt").write_text(BAD_DNC, encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["simulate", str(example)])
    assert result.exit_code == 2, result.output
    assert "dnc.txt: line 4 = 555-CALL-NOW: has letters" in result.output
    assert "dnc.txt: line 6 = 12345: not a valid phone number" in result.output
    assert "--lead-phone" not in result.output  # not misreported as a bad phone option
    assert "Traceback" not in result.output


def test_dial_with_a_bad_dnc_line_exits_2_before_any_request(example, monkeypatch):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)  # no request could be made anyway
    (example / "dnc.txt").write_text(BAD_DNC, encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["dial", str(example), "+14155550101"])
    assert result.exit_code == 2, result.output
    assert "dnc.txt: line 4 = 555-CALL-NOW" in result.output
    assert "Traceback" not in result.output


def test_listed_number_is_still_refused(example):
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(example), "--lead-phone", "+12065550110"]
    )
    assert result.exit_code == 2
    assert "+12065550110 is on the do-not-call list (dnc.txt)" in result.output
