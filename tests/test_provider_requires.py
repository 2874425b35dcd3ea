"""A provider's ``requires`` modules: ``voicekit check`` warns, naming the pip extra, when
one is not installed (found without importing it)."""

from __future__ import annotations

from voicekit_core import hookimpl
from voicekit_core.providers import Provider
from voicekit_core.testing import MINIMAL_CONFIG

ABSENT = "voicekit_test_module_that_is_not_installed"


class ProviderNeedingAnExtra:
    @hookimpl
    def register_providers(self, register):
        register(
            Provider(
                name="needsextra",
                tts=lambda ref, call: None,
                requires=("json", ABSENT),
                extra="needsextra",
            )
        )


def test_missing_modules_are_found_without_importing_them():
    provider = Provider(name="p", requires=("json", ABSENT, "livekit.plugins.nothere"))
    assert provider.missing_modules() == [ABSENT, "livekit.plugins.nothere"]
    assert Provider(name="q").missing_modules() == []


def test_check_warns_with_the_pip_extra(voicekit):
    voicekit.register(ProviderNeedingAnExtra(), name="needsextra")
    config = MINIMAL_CONFIG + '\n[models]\ntts = "needsextra:voice"\n'
    deployment = voicekit.load(voicekit.write(config))
    [warning] = [w for w in deployment.warnings if ABSENT in w]
    assert warning.startswith("models.tts = needsextra:voice:")
    assert "pip install 'voicekit-core[needsextra]'" in warning


def test_the_local_provider_declares_its_extra(voicekit):
    provider = voicekit.load().providers.get("local")
    assert provider.extra == "local"
    assert "faster_whisper" in provider.requires and "piper" in provider.requires
