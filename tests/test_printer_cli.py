"""`kiosk printer-status` and `kiosk print-test-page`: the technician's printer commands.

Against the real backends: the file printer in a temporary folder, and the
ESC/POS printer over TCP to a port-9100 printer simulated on 127.0.0.1 (the
same fake as tests/test_printer_escpos.py, which answers DLE EOT status).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_printer_escpos import COVER_OPEN, PAPER_OUT, READY, FakeNetworkPrinter

from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically
from launcher.cli import main


@pytest.fixture
def file_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tickets"
    monkeypatch.setenv("KIOSK_KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_PRINTER_FOLDER", str(folder))
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    return folder


def test_status_of_a_ready_printer(file_env: Path, capsys) -> None:
    assert main(["printer-status"]) == 0
    assert capsys.readouterr().out.startswith("printer (file): READY")


def test_status_paper_out_exits_1_and_says_so(file_env: Path, capsys) -> None:
    file_env.mkdir(parents=True, exist_ok=True)
    (file_env / "PAPER_OUT").touch()
    assert main(["printer-status", "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["paper_out"] is True and record["ready"] is False and record["backend"] == "file"


def test_test_page_is_the_sample_ticket(file_env: Path, capsys, qapp) -> None:
    assert main(["print-test-page"]) == 0
    assert "test page sent" in capsys.readouterr().out
    assert sorted(p.suffix for p in file_env.glob("0001-*")) == [".bin", ".pdf", ".png"]


def test_fee_paying_test_page_carries_the_vietqr(file_env: Path, capsys, qapp) -> None:
    import numpy as np

    from drivers.camera.decoder import ZxingQrDecoder
    from kiosk.qr import VietQr, parse_qr

    assert main(["print-test-page", "--fee-paying"]) == 0
    (raw,) = file_env.glob("0001-*.bin")
    image = stack_vertically(decode_escpos_raster(raw.read_bytes()))
    frame = np.stack([np.asarray(image.convert("L"))] * 3, axis=-1)
    codes = [parse_qr(t) for t in ZxingQrDecoder().decode(frame) if t.startswith("000201")]
    assert len(codes) == 1 and isinstance(codes[0], VietQr) and codes[0].crc_ok


def test_test_page_refused_by_a_printer_without_paper(file_env: Path, capsys, qapp) -> None:
    file_env.mkdir(parents=True, exist_ok=True)
    (file_env / "COVER_OPEN").touch()
    assert main(["print-test-page"]) == 1
    assert "NOT printed (printer_cover_open)" in capsys.readouterr().out
    assert not list(file_env.glob("*.bin"))


@pytest.fixture
def escpos_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    printers: list[FakeNetworkPrinter] = []

    def start(status: dict[int, int]) -> FakeNetworkPrinter:
        fake = FakeNetworkPrinter(status)
        printers.append(fake)
        monkeypatch.setenv("KIOSK_KIOSK_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("KIOSK_PRINTER_BACKEND", "escpos")
        monkeypatch.setenv("KIOSK_PRINTER_HOST", "127.0.0.1")
        monkeypatch.setenv("KIOSK_PRINTER_PORT", str(fake.port))
        monkeypatch.delenv("KIOSK_CONFIG", raising=False)
        return fake

    yield start
    for p in printers:
        p.close()


def test_escpos_test_page_reaches_the_printer(escpos_env, capsys, qapp) -> None:
    fake = escpos_env(READY)
    assert main(["print-test-page"]) == 0
    fake.wait_idle()
    received = b"".join(bytes(job.received) for job in fake.jobs)
    assert b"\x1dv0" in received, "a GS v 0 raster image"
    assert b"\x1dV" in received[-8:], "then the cut"


@pytest.mark.parametrize(("status", "words"), [(PAPER_OUT, "PAPER OUT"), (COVER_OPEN, "COVER OPEN")])
def test_escpos_status_words(escpos_env, capsys, status: dict[int, int], words: str) -> None:
    escpos_env(status)
    assert main(["printer-status"]) == 1
    assert words in capsys.readouterr().out


def test_nothing_listening_is_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("KIOSK_KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_PRINTER_BACKEND", "escpos")
    monkeypatch.setenv("KIOSK_PRINTER_HOST", "127.0.0.1")
    monkeypatch.setenv("KIOSK_PRINTER_PORT", str(port))
    assert main(["printer-status"]) == 1
    assert "OFFLINE" in capsys.readouterr().out
