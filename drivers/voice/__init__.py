"""Voice prompt backends: espeak-ng's Vietnamese voice, or silence."""

from drivers.voice.espeak import EspeakPrompter, SilentPrompter, voice_prompter

__all__ = ["EspeakPrompter", "SilentPrompter", "voice_prompter"]
