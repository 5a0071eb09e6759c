"""`kiosk simulate-card` and `kiosk read-card`: argument handling in process,
and the two together through real pcscd + vpcd (marked pcscd)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from drivers.card.simulated import SimulatedCardReader
from launcher.cli import build_parser, main
from launcher.wiring import cccd_qr_text
from launcher.read_card import CountingTransport, access_keys
from launcher.simulate_card import build_chip
from drivers.card.icao import IcaoChipReader
from drivers.card.samples import sample_citizen
from kiosk import cccd
from kiosk.ports import CanKey, MrzKey
from vpcd_support import vpcd_address, vpcd_reader


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_keys_from_every_option() -> None:
    c = sample_citizen(1)
    assert access_keys(_args("read-card", "--can", "123456")) == [CanKey("123456")]
    assert access_keys(_args("read-card", "--id", c["id_number"])) == [CanKey(cccd.can(c["id_number"]))]
    mrz = access_keys(_args("read-card", "--mrz", "190004567,900215,300215"))
    assert mrz == [MrzKey("190004567", date(1990, 2, 15), date(2030, 2, 15))]
    assert access_keys(_args("read-card", "--mrz", "190004567,581231,<<<<<<"))[0].date_of_expiry is None
    qr_keys = access_keys(_args("read-card", "--qr", cccd_qr_text(c)))
    assert qr_keys[0] == CanKey(cccd.can(c["id_number"])) and len(qr_keys) > 1


@pytest.mark.parametrize("bad", [["--can", "12ab"], ["--mrz", "1,2"], ["--id", "123"], ["--qr", "hello"]])
def test_bad_key_arguments_exit_2(bad: list[str]) -> None:
    assert main(["read-card", *bad]) == 2


def test_simulate_card_fault_switches_build_the_chip() -> None:
    args = _args("simulate-card", "--profile", "citizen-2", "--pace-refused", "--max-le", "64",
                 "--no-extended-length", "--tamper-dg", "13", "--tear-after", "500", "--latency-ms", "5",
                 "--cloned-keys", "--aa", "rsa")  # fmt: skip
    chip = build_chip(args)
    assert chip.faults.pace_refused and chip.faults.max_response_length == 64 and chip.faults.cloned_keys
    assert not chip.extended_length and chip.faults.lift_after_apdus == 500
    assert chip.faults.latency_seconds == pytest.approx(0.005)
    slept: list[float] = []
    chip.sleep = slept.append  # the latency switch, without waiting in a test
    reader = SimulatedCardReader()
    reader.place(chip)
    chip_reader = IcaoChipReader()
    result = chip_reader.read_identity(CountingTransport(reader.connect()), [CanKey(cccd.can(sample_citizen(2)["id_number"]))] + cccd.mrz_keys_for(sample_citizen(2)["id_number"], date.fromisoformat(sample_citizen(2)["date_of_birth"]), date.fromisoformat(sample_citizen(2)["date_of_issue"])))  # noqa: E501
    assert slept and all(s == pytest.approx(0.005) for s in slept)
    assert chip_reader.last_access_protocol == "BAC"
    assert result.citizen.id_number == sample_citizen(2)["id_number"]


def test_refused_master_list_stops_read_card_with_the_reason(
    tmp_path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    from drivers.card.sample_pki import build_master_list, master_list_signer

    bad = tmp_path / "expired.ml"
    bad.write_bytes(build_master_list(signer=master_list_signer(expired=True)))
    assert main(["read-card", "--can", "123456", "--trust", str(bad)]) == 2  # before any reader is asked
    err = capsys.readouterr().err
    assert "master_list_rejected" in err and "expired.ml: master list refused" in err and "expired on" in err


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(SystemExit):
        build_chip(_args("simulate-card", "--profile", "nobody"))


# -- through pcscd + vpcd ---------------------------------------------------------------------------

needs_pcscd = pytest.mark.skipif(
    os.environ.get("KIOSK_TEST_PCSCD") != "1", reason="needs pcscd with vpcd: run through packaging/test-services.sh"
)
# This run's vpcd slot (KIOSK_TEST_VPCD_PORT, chosen by packaging/test-services.sh).
VPCD_READER = vpcd_reader()


def _serve(*switches: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher.cli", "simulate-card", "--vpcd", vpcd_address(), *switches,
         "--seconds", "60"],  # fmt: skip
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert "served to vpcd" in process.stdout.readline()
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()  # our own child, by its handle
    process.wait(timeout=20)


@pytest.mark.pcscd
@needs_pcscd
@pytest.mark.parametrize("slot", [1, 2, 3, 4])
def test_read_card_through_pcscd(slot: int, capsys: pytest.CaptureFixture[str]) -> None:
    process = _serve("--profile", str(slot))
    try:
        code = main(["read-card", "--reader", VPCD_READER, "--id", sample_citizen(slot)["id_number"],
                     "--trust", "test", "--face", "--json", "--timeout", "20"])  # fmt: skip
    finally:
        _stop(process)
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["verification"] == "genuine"
    assert report["identity"]["id_number"] == sample_citizen(slot)["id_number"]
    assert report["identity"]["full_name"] == sample_citizen(slot)["full_name"]
    assert report["access"] == "PACE ECDH-GM AES-128 brainpoolP256r1 (CAN)"
    assert report["passive_authentication"]["status"] == "verified"
    assert report["chip_authentication"]["status"] == "passed"
    assert report["active_authentication"]["status"] == "passed"
    assert report["apdus"]["count"] > 10 and report["apdus"]["bytes_received"] > 5_000  # the face is most of it
    assert report["read_mode"].startswith("extended, up to ")  # the chip announces it in EF.ATR/INFO
    assert set(report["files"]) == {"EF.COM", "DG1", "DG2", "DG13", "DG14", "DG15", "EF.SOD"}
    assert report["files"]["EF.COM"].endswith("lists DG1 DG2 DG3 DG13 DG14 DG15")


@pytest.mark.pcscd
@needs_pcscd
def test_read_card_of_a_tampered_chip_exits_forged(capsys: pytest.CaptureFixture[str]) -> None:
    process = _serve("--profile", "2", "--tamper-dg", "13", "--pace-refused")
    try:
        code = main(["read-card", "--reader", VPCD_READER, "--qr",
                     cccd_qr_text(sample_citizen(2)),
                     "--trust", "test", "--timeout", "20"])  # fmt: skip
    finally:
        _stop(process)
    out = capsys.readouterr().out
    assert code == 3
    assert "verification: forged" in out and "DG13 hash does not match EF.SOD" in out and "access: BAC" in out


@pytest.mark.pcscd
@needs_pcscd
def test_read_card_without_a_card_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["read-card", "--reader", VPCD_READER, "--can", "123456", "--timeout", "0.5"])
    assert code == 1
    assert "read FAILED" in capsys.readouterr().out
