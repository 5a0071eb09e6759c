"""The sample citizens (assets/citizens) and simulated chips made from them.

The demo and the tests place these chips on a simulated reader (or behind
pcscd) and read them with the production IcaoChipReader. Files are found
through the `assets` package with importlib.resources, so this works from a
checkout, an editable install or an installed wheel alike.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from .chip_sim import SimulatedCccdChip

_PACKAGE = "assets"
_FOLDER = "citizens"


def citizens_dir() -> Traversable:
    return resources.files(_PACKAGE).joinpath(_FOLDER)


def sample_citizens() -> list[dict[str, Any]]:
    """Every sample citizen, ordered by slot."""
    found = []
    for entry in citizens_dir().iterdir():
        if entry.name.startswith("citizen-") and entry.name.endswith(".json"):
            found.append(json.loads(entry.read_text(encoding="utf-8")))
    if not found:
        raise FileNotFoundError("no sample citizens in assets/citizens")
    return sorted(found, key=lambda c: int(c["slot"]))


def sample_citizen(slot: int) -> dict[str, Any]:
    for citizen in sample_citizens():
        if int(citizen["slot"]) == slot:
            return citizen
    raise KeyError(f"no sample citizen in slot {slot}")


def sample_face(slot: int) -> bytes | None:
    """The JPEG face of a sample citizen (None if the sample has none)."""
    name = sample_citizen(slot).get("face")
    if not name:
        return None
    return citizens_dir().joinpath(str(name)).read_bytes()


def sample_chip(slot: int, **options: Any) -> SimulatedCccdChip:
    """A simulated CCCD chip for sample citizen `slot`.

    `options` go to SimulatedCccdChip.from_citizen (faults, parents_shape,
    omit_dg13_fields, end_of_file, ...).
    """
    return SimulatedCccdChip.from_citizen(sample_citizen(slot), sample_face(slot), **options)
