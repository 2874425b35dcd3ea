"""`voicekit knowledge ingest/search/list/remove`: re-ingest skips or replaces, failures
leave nothing half-ingested, errors name the source and exit 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from knowledge_kit import config, make_pdf, property_files
from voicekit_knowledge.index import KnowledgeBase
from voicekit_knowledge.ingest import Ingester
from voicekit_knowledge.runtime import knowledge_base, settings_of

from voicekit_core.cli import build_cli


def run(*args: str):
    return CliRunner().invoke(build_cli(), ["knowledge", *map(str, args)])


@pytest.fixture
def deployment_dir(voicekit) -> Path:
    path = voicekit.write(config('sources = ["docs/"]'), files=property_files())
    return path.parent


def chunk_rows(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / ".voicekit" / "voicekit.sqlite3") as db:
        return db.execute(
            "SELECT s.uri, c.position, c.text FROM knowledge_chunks c "
            "JOIN knowledge_sources s ON s.id = c.source_id ORDER BY s.uri, c.position"
        ).fetchall()


def test_ingest_search_reingest(deployment_dir: Path):
    first = run("ingest", deployment_dir)
    assert first.exit_code == 0, first.output
    assert "6 added" in first.output
    assert "[1] added     docs/maintenance.md: 1 chunks" in first.output  # progress lines

    found = run("search", deployment_dir, "how much is the pet deposit", "--json")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert hits[0]["source"] == "docs/pets.md" and "300 dollars" in hits[0]["text"]

    again = run("ingest", deployment_dir)
    assert "6 unchanged; 0 chunks written" in again.output

    (deployment_dir / "docs" / "pets.md").write_text(
        "# Pet policy\n\nNo pets are allowed, except service animals.\n", encoding="utf-8"
    )
    changed = run("ingest", deployment_dir)
    assert "1 updated, 5 unchanged" in changed.output
    pets = [row for row in chunk_rows(deployment_dir) if row[0] == "docs/pets.md"]
    assert len(pets) == 1 and "No pets are allowed" in pets[0][2]
    assert "300 dollars" not in json.dumps(
        json.loads(run("search", deployment_dir, "pet deposit", "--json").output)
    )


def test_failed_sources_leave_nothing_and_exit_2(deployment_dir: Path):
    docs = deployment_dir / "docs"
    (docs / "empty.md").write_text("", encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage")
    (docs / "good.pdf").write_bytes(make_pdf([["Laundry", "The laundry room opens at 7 am."]]))
    result = run(
        "ingest",
        deployment_dir,
        docs / "broken.pdf",
        docs / "empty.md",
        docs / "good.pdf",
        deployment_dir / "nowhere.md",
    )
    assert result.exit_code == 2
    assert "error: docs/broken.pdf: not a readable PDF" in result.output
    assert "error: docs/empty.md: the file is empty" in result.output
    assert "error: nowhere.md: no such file or folder" in result.output
    uris = {row[0] for row in chunk_rows(deployment_dir)}
    assert uris == {"docs/good.pdf"}  # the good one is in, the broken ones left nothing


def test_a_broken_new_version_keeps_the_old_chunks(deployment_dir: Path):
    assert run("ingest", deployment_dir).exit_code == 0
    before = [row for row in chunk_rows(deployment_dir) if row[0] == "docs/parking.md"]
    (deployment_dir / "docs" / "parking.md").write_bytes(b"")
    result = run("ingest", deployment_dir)
    assert result.exit_code == 0  # found in a folder: reported, not the user's named input
    assert "failed    docs/parking.md: the file is empty" in result.output
    assert [r for r in chunk_rows(deployment_dir) if r[0] == "docs/parking.md"] == before


def test_unsupported_file_named_explicitly_is_an_error(deployment_dir: Path):
    sheet = deployment_dir / "prices.xlsx"
    sheet.write_bytes(b"PK")
    result = run("ingest", deployment_dir, sheet)
    assert result.exit_code == 2
    assert "unsupported file type '.xlsx'" in result.output


def test_list_remove_and_prune(deployment_dir: Path):
    assert run("ingest", deployment_dir).exit_code == 0
    listed = json.loads(run("list", deployment_dir, "--json").output)
    assert [row["source"] for row in listed][:2] == ["docs/maintenance.md", "docs/move_out.md"]
    assert {row["kind"] for row in listed} == {"markdown"}
    removed = run("remove", deployment_dir, "docs/parking.md", "docs/nope.md")
    assert removed.exit_code == 2
    assert "removed docs/parking.md" in removed.output
    assert "docs/nope.md: not in the knowledge base" in removed.output
    (deployment_dir / "docs" / "pets.md").unlink()
    pruned = run("ingest", deployment_dir, "--prune")
    assert "removed   docs/pets.md" in pruned.output
    assert "1 added" in pruned.output  # parking.md, removed above, comes back
    assert len(json.loads(run("list", deployment_dir, "--json").output)) == 5


def test_chunk_size_change_rechunks(voicekit, deployment_dir: Path):
    assert run("ingest", deployment_dir).exit_code == 0
    toml = deployment_dir / "voicekit.toml"
    toml.write_text(toml.read_text() + "max_chunk_tokens = 120\nmin_chunk_tokens = 40\n")
    result = run("ingest", deployment_dir)
    assert "6 updated" in result.output
    assert len(chunk_rows(deployment_dir)) > 6


def test_plugin_not_enabled_is_a_clear_error(voicekit):
    from voicekit_core.testing import MINIMAL_CONFIG

    path = voicekit.write(MINIMAL_CONFIG, folder="plain")
    result = run("ingest", path.parent, "x.md")
    assert result.exit_code == 2
    assert 'add "knowledge" to [plugins] enable' in result.output


def test_bad_settings_are_config_errors(voicekit):
    path = voicekit.write(config('mode = "everything"\nsearch = "dense"'), folder="bad")
    result = run("ingest", path.parent)
    assert result.exit_code == 2
    assert "plugins.knowledge.mode" in result.output


def test_document_text_is_printed_literally(voicekit):
    path = voicekit.write(
        config('sources = ["docs/"]'),
        files={
            "docs/markup.md": "# [bold red]Alarm[/]\n\nCall [link=https://evil.test]us[/link] now.\n"
        },
        folder="markup",
    )
    assert run("ingest", path.parent).exit_code == 0
    found = run("search", path.parent, "alarm call")
    assert "[bold red]Alarm[/]" in found.output
    assert "[link=https://evil.test]us[/link]" in found.output


def test_collections_keep_deployments_apart(voicekit):
    shared = "sqlite:///../shared.sqlite3"
    one = voicekit.write(
        config('sources = ["docs/"]', extra=f'\n[store]\nurl = "{shared}"\n'),
        files={"docs/a.md": "# Hours\n\nWe open at nine.\n"},
        folder="one",
    )
    two = voicekit.write(
        config('sources = ["docs/"]\ncollection = "other"', extra=f'\n[store]\nurl = "{shared}"\n'),
        files={"docs/a.md": "# Hours\n\nWe open at noon.\n"},
        folder="two",
    )
    assert run("ingest", one.parent).exit_code == 0
    assert run("ingest", two.parent).exit_code == 0
    first = json.loads(run("search", one.parent, "open", "--json").output)
    second = json.loads(run("search", two.parent, "open", "--json").output)
    assert [h["text"] for h in first] == ["Hours\n\nWe open at nine."]
    assert [h["text"] for h in second] == ["Hours\n\nWe open at noon."]


def test_api_progress_and_summary(voicekit):
    deployment = voicekit.load(voicekit.write(config(), files=property_files()))
    kb = knowledge_base(deployment)
    assert isinstance(kb, KnowledgeBase) and kb.collection == "birchwood"
    lines: list[str] = []
    summary = Ingester(
        kb,
        settings_of(deployment.config),
        base_dir=deployment.config.base_dir,
        progress=lines.append,
    ).run(["docs"])
    assert summary.count("added") == 6 and not summary.errors
    assert len(lines) == 6 and summary.line() == "6 added; 6 chunks written"
    assert kb.counts() == (6, 6)
