"""Card backends: the ICAO 9303 chip reader and the readers it runs over.

- `icao`: the eMRTD protocol (BAC, secure messaging, file reading, DG1/DG2/
  DG13 parsing) written once over `kiosk.ports.CardTransport`;
  `IcaoChipReader` implements `kiosk.ports.ChipReader`.
- `pcsc.PcscCardReader`: a real PC/SC reader through pyscard (lazy import).
- `simulated.SimulatedCardReader` + `chip_sim.SimulatedCccdChip`: a reader
  and a software CCCD chip, for the demo and the tests.
- `vpcd.VirtualCardBridge`: puts a simulated chip behind real pcscd.
- `samples`: the sample citizens of assets/citizens and chips made from them.

Names are resolved on first use, so importing one backend never loads the
others (nor pyscard).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "IcaoChipReader": "drivers.card.icao.reader",
    "PcscCardReader": "drivers.card.pcsc",
    "SimulatedCardReader": "drivers.card.simulated",
    "SimulatedCccdChip": "drivers.card.chip_sim",
    "ChipFaults": "drivers.card.chip_sim",
    "VirtualCardBridge": "drivers.card.vpcd",
    "sample_chip": "drivers.card.samples",
    "sample_citizens": "drivers.card.samples",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
