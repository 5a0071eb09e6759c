"""Speak prompts with espeak-ng's Vietnamese voice (`espeak-ng -v vi`).

One thread owns the speech (Electrum's one-owner-thread idea): `say` only
hands the sentence over and returns, so the UI and the desk never wait for a
voice. A newer sentence replaces one not yet spoken and cuts off the one
being spoken: the patient has moved on, and so does the voice.

When espeak-ng is not installed the kiosk stays silent (`SilentPrompter`),
as python-escpos' optional backends do when their library is missing.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
# Words per minute: espeak-ng's default 175 is quick for an elderly listener.
SPEED_WPM = 140


class SilentPrompter:
    """The voice when there is none: every prompt is dropped."""

    def say(self, text: str, language: str = "vi") -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class EspeakPrompter:
    def __init__(self, binary: str, *, speed: int = SPEED_WPM, voice: str = "vi") -> None:
        self._binary = binary
        self._speed = speed
        self._voice = voice
        self._lock = threading.Condition()
        self._next: str | None = None
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    def command(self, text: str) -> list[str]:
        # "--" ends the options: a sentence starting with "-" is still text.
        return [self._binary, "-v", self._voice, "-s", str(self._speed), "--", text]

    def say(self, text: str, language: str = "vi") -> None:
        with self._lock:
            self._next = text
            self._kill_current()
            self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._next = None
            self._kill_current()

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            self._next = None
            self._kill_current()
            self._lock.notify()
        self._thread.join(timeout)

    def _kill_current(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._next is None and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                text, self._next = self._next, None
                try:
                    self._process = subprocess.Popen(
                        self.command(text), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                except OSError as exc:
                    log.warning("espeak-ng did not start: %s", type(exc).__name__)
                    self._process = None
                    continue
                process = self._process
            # Wait outside the lock, so `say` can cut this sentence off.
            code = process.wait()
            if code not in (0, -15) and not self._warned:  # -15: cut off by a newer prompt
                # Once: without a sound device it fails on every prompt.
                self._warned = True
                log.warning("espeak-ng exited with %s (no sound device?)", code)


def voice_prompter(backend: str = "auto") -> EspeakPrompter | SilentPrompter:
    """espeak-ng when asked for (or, with "auto", when it is on PATH); silence otherwise."""
    if backend == "none":
        return SilentPrompter()
    binary = shutil.which(ESPEAK)
    if binary is None:
        if backend == "espeak":
            log.warning("voice prompts: espeak-ng not found on PATH; the kiosk stays silent")
        else:
            log.info("voice prompts: espeak-ng not installed; silent")
        return SilentPrompter()
    return EspeakPrompter(binary)
