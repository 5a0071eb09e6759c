"""drivers.camera.simulated: the camera the demo and the tests film with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import qrcode

from drivers.camera.decoder import ZxingQrDecoder
from drivers.camera.simulated import FRAME_HEIGHT, FRAME_WIDTH, SimulatedCamera, _FrameSource
from kiosk.qr import CccdQr, parse_qr

CITIZENS = sorted((Path(__file__).resolve().parent.parent / "assets" / "citizens").glob("citizen-*.json"))
WAIT = 10.0  # seconds: an upper bound for a frame to arrive, never a pace


def cccd_text(path: Path) -> str:
    c = json.loads(path.read_text(encoding="utf-8"))

    def dmy(iso: str) -> str:
        return date.fromisoformat(iso).strftime("%d%m%Y")

    fields = [c["id_number"], c["old_id_number"], c["full_name"], dmy(c["date_of_birth"]), c["sex"]]
    return "|".join(fields + [c["place_of_residence"], dmy(c["date_of_issue"])])


@pytest.fixture(scope="module")
def decoder() -> ZxingQrDecoder:
    return ZxingQrDecoder()


@pytest.fixture
def camera() -> Iterator[SimulatedCamera]:
    cam = SimulatedCamera(fps=100)
    cam.start()
    yield cam
    cam.stop()


def next_frame(cam: SimulatedCamera) -> np.ndarray:
    frame = cam.wait_for_frame(WAIT)
    assert frame is not None, "no frame within the bound"
    return frame


@pytest.mark.parametrize("path", CITIZENS, ids=lambda p: p.stem)
def test_a_shown_citizen_card_decodes_to_its_qr_text(
    camera: SimulatedCamera, decoder: ZxingQrDecoder, path: Path
) -> None:
    text = cccd_text(path)
    camera.show_payload(text, caption="CĂN CƯỚC CÔNG DÂN")
    frame = next_frame(camera)

    assert frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) and frame.dtype == np.uint8
    assert decoder.decode(frame) == [text]
    assert isinstance(parse_qr(text), CccdQr)


def test_the_empty_scene_has_no_code(camera: SimulatedCamera, decoder: ZxingQrDecoder) -> None:
    camera.show_payload("VNKIOSK:APPT:A1")
    camera.show_nothing()
    next_frame(camera)
    assert decoder.decode(next_frame(camera)) == []


def test_each_frame_is_a_new_read_only_array(camera: SimulatedCamera) -> None:
    first = next_frame(camera)
    second = next_frame(camera)
    assert first is not second
    assert camera.latest_frame() is not None
    with pytest.raises(ValueError):
        second[0, 0, 0] = 1


def test_no_frames_before_start_or_after_stop() -> None:
    cam = SimulatedCamera(fps=100)
    assert cam.latest_frame() is None
    cam.start()
    cam.start()  # idempotent
    assert next_frame(cam) is not None
    cam.stop()
    assert cam.latest_frame() is None
    assert cam.wait_for_frame(0.0) is None


def test_show_frame_shows_any_picture(camera: SimulatedCamera) -> None:
    picture = np.zeros((240, 320, 3), dtype=np.uint8)
    picture[:, :, 2] = 200
    camera.show_frame(picture)
    picture[:] = 0  # the camera keeps its own copy
    next_frame(camera)
    frame = next_frame(camera)
    assert frame.shape == (240, 320, 3) and int(frame[0, 0, 2]) == 200
    with pytest.raises(ValueError):
        camera.show_frame(np.zeros((10, 10), dtype=np.uint8))


def _qr_png(path: Path, text: str) -> None:
    code = qrcode.QRCode(box_size=6, border=4)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    code.make_image().get_image().convert("RGB").save(path)


def test_a_folder_of_images_loops_and_generated_scenes_override_it(tmp_path: Path, decoder: ZxingQrDecoder) -> None:
    _qr_png(tmp_path / "a.png", "VNKIOSK:APPT:A1")
    _qr_png(tmp_path / "b.png", "VNKIOSK:REF:B2")
    (tmp_path / "notes.txt").write_text("not an image")
    cam = SimulatedCamera(tmp_path, fps=100)
    cam.start()
    try:
        assert decoder.decode(next_frame(cam))[0] in {"VNKIOSK:APPT:A1", "VNKIOSK:REF:B2"}

        cam.show_payload("VNKIOSK:APPT:C3")
        next_frame(cam)
        assert decoder.decode(next_frame(cam)) == ["VNKIOSK:APPT:C3"]

        cam.show_source()
        next_frame(cam)
        assert decoder.decode(next_frame(cam))[0] in {"VNKIOSK:APPT:A1", "VNKIOSK:REF:B2"}
    finally:
        cam.stop()


def test_a_folder_plays_in_name_order_round_and_round(tmp_path: Path, decoder: ZxingQrDecoder) -> None:
    # The source itself, stepped by hand: the camera thread would skip
    # frames while a test decodes, which is right for a camera but no way
    # to check an order.
    _qr_png(tmp_path / "b.png", "VNKIOSK:REF:B2")
    _qr_png(tmp_path / "a.png", "VNKIOSK:APPT:A1")
    source = _FrameSource.open(tmp_path)
    seen = [decoder.decode(source.next_frame()) for _ in range(5)]
    assert seen == [["VNKIOSK:APPT:A1"], ["VNKIOSK:REF:B2"]] * 2 + [["VNKIOSK:APPT:A1"]]


def test_a_list_of_images_and_a_single_image(tmp_path: Path, decoder: ZxingQrDecoder) -> None:
    _qr_png(tmp_path / "one.png", "VNKIOSK:APPT:ONE")
    for source in (tmp_path / "one.png", [tmp_path / "one.png"], str(tmp_path / "one.png")):
        cam = SimulatedCamera(source, fps=100)
        cam.start()
        try:
            assert decoder.decode(next_frame(cam)) == ["VNKIOSK:APPT:ONE"]
        finally:
            cam.stop()


def test_a_video_file_loops(tmp_path: Path) -> None:
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    assert writer.isOpened()
    for bgr in ((0, 0, 255), (0, 255, 0), (255, 0, 0)):  # red, green, blue in BGR order
        writer.write(np.full((120, 160, 3), bgr, dtype=np.uint8))
    writer.release()

    source = _FrameSource.open(path)
    try:
        dominant = [int(np.argmax(source.next_frame()[60, 80])) for _ in range(7)]
    finally:
        source.close()
    # RGB order (red is channel 0), and the clip starts again after its end.
    assert dominant == [0, 1, 2, 0, 1, 2, 0]

    cam = SimulatedCamera(path, fps=100)  # and the camera plays it
    cam.start()
    try:
        assert next_frame(cam).shape == (120, 160, 3)
    finally:
        cam.stop()


def test_bad_sources_are_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SimulatedCamera(tmp_path / "missing.png")
    with pytest.raises(ValueError):
        SimulatedCamera(tmp_path)  # a folder without images
    with pytest.raises(ValueError):
        SimulatedCamera([])
    with pytest.raises(RuntimeError):
        SimulatedCamera().show_source()
    with pytest.raises(ValueError):
        SimulatedCamera(fps=0)


def test_scenes_change_safely_while_frames_are_read(camera: SimulatedCamera, decoder: ZxingQrDecoder) -> None:
    errors: list[BaseException] = []
    payloads = [f"VNKIOSK:APPT:T{i}" for i in range(3)]

    def change(text: str) -> None:
        try:
            for _ in range(2):
                camera.show_payload(text)
                camera.show_nothing()
            camera.show_payload(text)
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=change, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    frames = 0
    while any(t.is_alive() for t in threads):
        assert decoder.decode(next_frame(camera)) in ([], *([p] for p in payloads))
        frames += 1
    for t in threads:
        t.join(WAIT)
    assert not errors
    # The scene left behind is one of the last three shown, whole.
    next_frame(camera)
    assert decoder.decode(next_frame(camera))[0] in payloads


def test_text_too_long_for_a_qr_code_is_refused(camera: SimulatedCamera) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        camera.show_payload("x" * 3000)


def test_a_scene_asked_for_later_wins_over_a_slower_earlier_render(
    camera: SimulatedCamera, decoder: ZxingQrDecoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The card is lifted (show_nothing) while its picture is still being
    # rendered: the finished render must not put the card back.
    rendering = threading.Event()
    lifted = threading.Event()
    render = camera._render_card

    def slow_render(text: str, caption: str | None) -> np.ndarray:
        scene = render(text, caption)
        rendering.set()
        assert lifted.wait(WAIT)
        return scene

    monkeypatch.setattr(camera, "_render_card", slow_render)
    shower = threading.Thread(target=camera.show_payload, args=("VNKIOSK:APPT:LATE",))
    shower.start()
    assert rendering.wait(WAIT)
    camera.show_nothing()
    lifted.set()
    shower.join(WAIT)
    next_frame(camera)
    assert decoder.decode(next_frame(camera)) == []
