"""A camera that needs no camera (`kiosk.ports.Camera`), for the demo and tests.

It is a real backend, wired exactly like `OpenCvCamera`: a thread delivers
frames at a fixed rate, each a new read-only RGB array, and the newest one
wins. What it films is one of:

- a source: image files, a folder of images or a video file, looped;
- a generated scene: `show_payload(text)` renders a QR code on a card held
  in front of the kiosk (1280x720, the card slightly turned, sensor noise),
  `show_nothing()` an empty counter, `show_frame(array)` any picture.

The generated scene overrides the source until `show_source()`. All methods
are thread-safe: the demo script changes the scene while the scanner reads.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.ports import Frame

log = logging.getLogger(__name__)

FRAME_WIDTH, FRAME_HEIGHT = 1280, 720
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"})

# Fonts with Vietnamese glyphs, in order of preference (Debian packages
# fonts-dejavu-core and fonts-noto-core, both installed by `make`).
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

SourceSpec = str | Path | Sequence[str | Path]


class SimulatedCamera:
    def __init__(self, source: SourceSpec | None = None, *, fps: float = 15.0, seed: int = 0) -> None:
        """`source`: an image file, a video file, a folder of images or a
        list of image files; None starts on an empty scene."""
        if fps <= 0:
            raise ValueError("fps must be positive")
        self._interval = 1.0 / fps
        self._seed = seed
        self._source = _FrameSource.open(source) if source is not None else None

        self._lifecycle = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Condition()  # guards the fields below
        self._scene: np.ndarray | None = None  # None: play the source
        self._latest: Frame | None = None
        self._frames = 0
        self._background: np.ndarray | None = None
        self._noise: np.ndarray | None = None
        self._tickets = 0  # show_* requests, numbered in call order
        self._shown_ticket = 0  # the request the current scene answers
        if self._source is None:
            self.show_nothing()

    # -- Camera protocol -------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="camera-simulated", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lifecycle:
            thread, self._thread = self._thread, None
            self._stop.set()
            if thread is not None:
                thread.join(timeout)
            with self._lock:
                self._latest = None
            if self._source is not None:
                self._source.close()

    def latest_frame(self) -> Frame | None:
        with self._lock:
            return self._latest

    # -- what the camera sees --------------------------------------------------

    def show_payload(self, text: str, caption: str | None = None) -> None:
        """A card carrying a QR code of `text` (UTF-8, byte mode, as on CCCD
        and BHYT cards), with `caption` printed on it, held up to the camera.
        Raises `ValueError` when the text does not fit in a QR code."""
        ticket = self._take_ticket()
        self._set_scene(self._render_card(text, caption), ticket)

    def show_nothing(self) -> None:
        ticket = self._take_ticket()
        self._set_scene(self._empty_scene(), ticket)

    def show_frame(self, frame: Frame) -> None:
        """Any picture (h, w, 3) RGB uint8, shown as it is."""
        array = np.array(frame, dtype=np.uint8, copy=True)
        if array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(f"an RGB frame (h, w, 3) is needed, got {array.shape}")
        self._set_scene(array, self._take_ticket())

    def show_source(self) -> None:
        """Back to the images or video given at construction."""
        if self._source is None:
            raise RuntimeError("this simulated camera was created without a source")
        ticket = self._take_ticket()
        with self._lock:
            if ticket > self._shown_ticket:
                self._shown_ticket = ticket
                self._scene = None

    @property
    def frames_delivered(self) -> int:
        with self._lock:
            return self._frames

    def wait_for_frame(self, timeout: float) -> Frame | None:
        """Block until the next frame is delivered, or `timeout` s."""
        with self._lock:
            seen = self._frames
            self._lock.wait_for(lambda: self._frames != seen or self._stop.is_set(), timeout)
            return self._latest if self._frames != seen else None

    # -- frame thread ----------------------------------------------------------

    def _take_ticket(self) -> int:
        with self._lock:
            self._tickets += 1
            return self._tickets

    def _set_scene(self, scene: np.ndarray, ticket: int) -> None:
        # Rendering a card takes a moment; a show_nothing() that arrived
        # meanwhile (the card was lifted) must not be undone when the render
        # finishes. Scenes apply in the order they were asked for.
        scene.setflags(write=False)  # shared by every frame delivered from it
        with self._lock:
            if ticket > self._shown_ticket:
                self._shown_ticket = ticket
                self._scene = scene

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                scene = self._scene
            try:
                if scene is not None:
                    # A new array object per frame, as from a real camera,
                    # sharing the read-only pixels: no copy per frame.
                    frame = scene.view()
                else:
                    assert self._source is not None
                    frame = self._source.next_frame()
            except Exception:
                log.exception("simulated camera: could not produce a frame")
                frame = None
            if frame is not None:
                with self._lock:
                    self._latest = frame
                    self._frames += 1
                    self._lock.notify_all()
            if self._stop.wait(self._interval):
                break
        with self._lock:
            self._lock.notify_all()

    # -- rendering ---------------------------------------------------------------

    def _empty_scene(self) -> np.ndarray:
        with self._lock:
            if self._background is None:
                self._background = _counter_background(self._seed)
            return self._background.copy()

    def _render_card(self, text: str, caption: str | None) -> np.ndarray:
        from PIL import Image, ImageDraw, ImageFilter

        qr = _qr_image(text)
        card_w = 720
        card_h = round(card_w * 54 / 85.6)  # ID-1 card proportions (ISO/IEC 7810)
        # A card QR covers about a quarter of the card's width; never less
        # than 3 px per module, below which a 720p webcam cannot resolve it.
        modules = qr.size[0]
        side = max(round(card_w * 0.28), modules * 3)
        side = min(side, card_h - 40)
        qr = qr.resize((side, side), Image.Resampling.NEAREST)

        card = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(card)
        draw.rounded_rectangle((0, 0, card_w - 1, card_h - 1), radius=28, fill=(232, 240, 238, 255))
        draw.rounded_rectangle((0, 0, card_w - 1, 70), radius=28, fill=(186, 40, 45, 255))
        draw.rectangle((0, 40, card_w - 1, 70), fill=(186, 40, 45, 255))
        draw.rectangle((36, 100, 176, 280), fill=(200, 208, 210, 255))  # photo
        for row in range(5):  # printed text lines
            y = 110 + row * 34
            draw.rectangle((200, y, 200 + 240 - row * 25, y + 12), fill=(150, 160, 165, 255))
        card.paste(qr.convert("RGBA"), (card_w - side - 24, card_h - side - 24))
        if caption:
            draw.text((28, 20), caption, fill=(255, 255, 255, 255), font=_font(30))

        # Held by a hand: turned a few degrees, with a soft shadow under it.
        turned = card.rotate(4.0, resample=Image.Resampling.BICUBIC, expand=True)
        scene = Image.fromarray(self._empty_scene())
        shadow = Image.new("RGBA", turned.size, (0, 0, 0, 0))
        shadow.putalpha(turned.getchannel("A").point(lambda a: a * 90 // 255))
        shadow = shadow.filter(ImageFilter.GaussianBlur(12))
        x = (FRAME_WIDTH - turned.width) // 2
        y = (FRAME_HEIGHT - turned.height) // 2
        scene.paste(shadow, (x + 14, y + 18), shadow)
        scene.paste(turned, (x, y), turned)
        # A webcam's lens and sensor: slight blur and noise.
        scene = scene.filter(ImageFilter.GaussianBlur(0.7))
        pixels = np.asarray(scene, dtype=np.int16) + self._sensor_noise()
        return np.clip(pixels, 0, 255).astype(np.uint8)

    def _sensor_noise(self) -> np.ndarray:
        # Drawn once: 2.7 M normal samples cost more than the rest of a render.
        with self._lock:
            if self._noise is None:
                rng = np.random.default_rng(self._seed)
                noise = rng.normal(0.0, 3.0, (FRAME_HEIGHT, FRAME_WIDTH, 3))
                self._noise = np.clip(noise, -127, 127).astype(np.int8)
            return self._noise


def _qr_image(text: str) -> Any:
    """A black-on-white QR (one pixel per module, 4-module quiet zone)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from qrcode.exceptions import DataOverflowError

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4)
    # Bytes, so the library writes byte mode without guessing a charset:
    # Vietnamese cards carry UTF-8 without an ECI, and so do we.
    code.add_data(text.encode("utf-8"))
    try:
        code.make(fit=True)
    # qrcode 8 reports too much data as "Invalid version (was 41 ...)", a
    # plain ValueError, rather than its own DataOverflowError.
    except (DataOverflowError, ValueError):
        raise ValueError("the text does not fit in a QR code") from None
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in _FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _counter_background(seed: int) -> np.ndarray:
    """A kiosk counter in front of the camera: a soft vertical gradient."""
    top = np.array([92, 104, 116], dtype=np.float32)
    bottom = np.array([58, 64, 72], dtype=np.float32)
    t = np.linspace(0.0, 1.0, FRAME_HEIGHT, dtype=np.float32)[:, None, None]
    gradient = np.broadcast_to(top + (bottom - top) * t, (FRAME_HEIGHT, FRAME_WIDTH, 3))
    noise = np.random.default_rng(seed + 1).normal(0.0, 2.0, (FRAME_HEIGHT, FRAME_WIDTH, 3))
    return np.clip(gradient + noise, 0, 255).astype(np.uint8)


class _FrameSource(abc.ABC):
    """Looping playback of image files or a video file."""

    @staticmethod
    def open(spec: SourceSpec) -> _FrameSource:
        if isinstance(spec, (str, Path)):
            path = Path(spec)
            if path.is_dir():
                images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if not images:
                    raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
                return _ImageSource(images)
            if not path.exists():
                raise FileNotFoundError(path)
            if path.suffix.lower() in VIDEO_SUFFIXES:
                return _VideoSource(path)
            return _ImageSource([path])
        paths = [Path(p) for p in spec]
        if not paths:
            raise ValueError("an empty list of images")
        for p in paths:
            if not p.exists():
                raise FileNotFoundError(p)
        return _ImageSource(paths)

    @abc.abstractmethod
    def next_frame(self) -> Frame | None:
        """The next frame of the loop, or None when the source has none."""

    def close(self) -> None:
        pass


class _ImageSource(_FrameSource):
    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._cache: dict[Path, np.ndarray] = {}
        self._index = 0

    def next_frame(self) -> Frame | None:
        path = self._paths[self._index % len(self._paths)]
        self._index += 1
        image = self._cache.get(path)
        if image is None:
            image = load_rgb(path)
            image.setflags(write=False)
            self._cache[path] = image
        return image.view()


class _VideoSource(_FrameSource):
    def __init__(self, path: Path) -> None:
        import cv2

        self._cv2 = cv2
        self._path = path
        self._capture: Any = None

    def next_frame(self) -> Frame | None:
        cv2 = self._cv2
        if self._capture is None:
            self._capture = cv2.VideoCapture(str(self._path))
            if not self._capture.isOpened():
                self._capture = None
                raise OSError(f"cannot open video {self._path}")
        ok, bgr = self._capture.read()
        if not ok:  # the end: loop from the start
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
            if not ok:
                return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def load_rgb(path: str | Path) -> np.ndarray:
    """An image file as an RGB uint8 array, upright (phone photos carry EXIF
    rotation)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return np.array(ImageOps.exif_transpose(image).convert("RGB"))
