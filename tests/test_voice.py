"""Voice prompts: one Vietnamese sentence per step, said when the instruction
changes, through espeak-ng's `vi` voice; silence when espeak-ng is absent
(patched at the OS edge: PATH)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from test_ui_samples import PATIENT_ID, PATIENT_NAME, STATE_NAMES, representative_states

from drivers.voice.espeak import EspeakPrompter, SilentPrompter, voice_prompter
from kiosk.errors import CardNotGenuineError, PrinterOutOfPaper
from kiosk.flow import ErrorInfo, FlowState, Session, Step
from kiosk.voice import PROMPTS_VI, VoiceGuide, prompt_key, prompt_text


class RecordingPrompter:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.stops = 0

    def say(self, text: str, language: str = "vi") -> None:
        assert language == "vi"
        self.said.append(text)

    def stop(self) -> None:
        self.stops += 1


@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_every_screen_has_a_prompt_without_personal_data(qapp, name: str) -> None:
    state = representative_states()[name]
    text = prompt_text(state)
    assert text, name
    assert PATIENT_NAME not in text and PATIENT_ID not in text
    assert text.endswith((".", "?")), text


def test_prompt_chosen_per_step() -> None:
    assert prompt_text(FlowState(Step.VISIT_TYPE, Session())) == PROMPTS_VI["visit_type"]
    assert prompt_text(FlowState(Step.IDENTIFY, Session(), prompt="show_qr")) == PROMPTS_VI["identify:show_qr"]
    assert prompt_text(FlowState(Step.IDENTIFY, Session(), busy=True, progress="dg1")) == PROMPTS_VI["identify:busy"]
    assert prompt_text(FlowState(Step.CONFIRM, Session())) == PROMPTS_VI["confirm"]


def test_errors_say_their_own_next_step() -> None:
    for exc in (CardNotGenuineError("x"), PrinterOutOfPaper("x")):
        state = FlowState(Step.ERROR, Session(), error=ErrorInfo(exc.code, exc.guidance_vi, exc.guidance_en))
        assert prompt_text(state) == exc.guidance_vi
    paper = PrinterOutOfPaper("x")
    done = FlowState(Step.DONE, Session(print_error=ErrorInfo(paper.code, paper.guidance_vi, paper.guidance_en)))
    assert prompt_key(done) == "done:print_error" and prompt_text(done) == paper.guidance_vi


def test_guide_speaks_once_per_instruction_and_stops_on_idle() -> None:
    voice = RecordingPrompter()
    guide = VoiceGuide(voice)
    guide(FlowState(Step.IDLE, Session()))
    assert voice.said == []  # no greeting to an empty hall
    guide(FlowState(Step.IDENTIFY, Session(), prompt="place_card"))
    guide(FlowState(Step.IDENTIFY, Session(), busy=True, progress="connect"))
    guide(FlowState(Step.IDENTIFY, Session(), busy=True, progress="dg1"))  # progress: not new
    guide(FlowState(Step.IDENTIFY, Session(), busy=True, progress="dg13"))
    guide(FlowState(Step.VISIT_TYPE, Session()))
    assert voice.said == [PROMPTS_VI["identify:place_card"], PROMPTS_VI["identify:busy"], PROMPTS_VI["visit_type"]]
    guide(FlowState(Step.IDLE, Session()))
    assert voice.stops == 2


def test_a_failing_voice_does_not_break_the_flow() -> None:
    class Broken(RecordingPrompter):
        def say(self, text: str, language: str = "vi") -> None:
            raise OSError("audio device gone")

    VoiceGuide(Broken())(FlowState(Step.CONFIRM, Session()))


def test_silent_when_espeak_is_not_on_path(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isinstance(voice_prompter("auto"), SilentPrompter)
    assert isinstance(voice_prompter("espeak"), SilentPrompter)
    assert isinstance(voice_prompter("none"), SilentPrompter)


def fake_espeak(folder: Path, body: str) -> Path:
    script = folder / "espeak-ng"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_espeak_is_called_with_the_vietnamese_voice(monkeypatch, tmp_path: Path, qtbot) -> None:
    out = tmp_path / "said.txt"
    fake_espeak(tmp_path, f'printf "%s|" "$@" >> "{out}"; echo >> "{out}"\n')
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    voice = voice_prompter("auto")
    assert isinstance(voice, EspeakPrompter)
    try:
        voice.say("-Xin chào.")
        qtbot.waitUntil(lambda: out.exists() and out.read_text().endswith("\n"))
    finally:
        voice.close()
    args = out.read_text().strip().split("|")[:-1]
    assert args[:2] == ["-v", "vi"] and args[-2:] == ["--", "-Xin chào."]


def test_stop_cuts_a_long_sentence_off(monkeypatch, tmp_path: Path, qtbot) -> None:
    started = tmp_path / "started"
    fake_espeak(tmp_path, f'touch "{started}"\nexec sleep 60\n')
    voice = EspeakPrompter(str(tmp_path / "espeak-ng"))
    try:
        voice.say("Một câu rất dài.")
        qtbot.waitUntil(started.exists)
        process = voice._process
        assert process is not None
        voice.stop()
        qtbot.waitUntil(lambda: process.poll() is not None)
    finally:
        voice.close()


def test_real_espeak_has_a_vietnamese_voice(tmp_path: Path) -> None:
    wav = tmp_path / "prompt.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(wav), PROMPTS_VI["visit_type"]], check=True, timeout=30)
    data = wav.read_bytes()
    assert data[:4] == b"RIFF" and len(data) > 10_000
