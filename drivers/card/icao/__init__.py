"""ICAO 9303 eMRTD protocol, written once over `kiosk.ports.CardTransport`.

Modules, bottom up:
- `tlv`: BER-TLV; `apdu`: command/response APDUs and status words;
- `crypto`: key derivation, 3DES/retail MAC, AES/CMAC; `sm`: secure messaging;
- `mrz`: check digits, MRZ parsing, BAC key input; `bac`: Basic Access Control;
- `lds`, `dg13`, `dg2`: file identifiers and data-group parsers;
- `session`: select, authenticate, read files; `reader`: IcaoChipReader.
"""

from .reader import IcaoChipReader

__all__ = ["IcaoChipReader"]
