"""A stand-in for the social-security insurance gateway, same API shape.

`create_simulated_gateway()` returns a FastAPI app with the two endpoints the
hub uses (DOMAIN.md §2): token login and KQNhanLichSuKCB2024. The hub mounts
it under /simulated-gateway when `gateway_url = "simulated"` (demo, tests,
training) and talks to it over HTTP exactly as it talks to the real one; it
can also be served alone (`uvicorn --factory server.simulated_gateway:create_simulated_gateway`).

What it knows:
- a test card for EVERY result code in `kiosk.insurance.RESULT_CODES`:
  `card_for_result("010")` == "GD4799999900010" answers 010, and so on;
- the sample citizens in `assets/citizens` (by CCCD number or BHYT code),
  answering their `insurance_result`, and checking name and birth date the
  way the real gateway does (060/061/070 on a mismatch);
- anything else: 050 (no card) for a 10- or 12-digit number, 051 for an
  unknown 15-character code, 205 for a malformed request.

Tokens expire after `token_ttl_seconds` by the injected clock; an expired or
unknown token answers 401. The officer (hoTenCb/cccdCb) must be the one
configured, else 054/055 - the same configuration mistakes a real
installation can make.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from importlib import resources
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from kiosk.domain import VIETNAM_TZ
from kiosk.insurance import RESULT_CODES
from server.gateway import token_expiry_iso

# Short gateway-side notes (ghiChu), as an operator would read them.
_NOTES = {
    "000": "Thẻ còn giá trị sử dụng.",
    "001": "Thẻ do BHXH Bộ Quốc phòng quản lý.",
    "002": "Thẻ do BHXH Bộ Công an quản lý.",
    "003": "Thẻ cũ hết giá trị sử dụng, đã được cấp thẻ mới.",
    "004": "Thẻ cũ còn giá trị sử dụng, đã được cấp thẻ mới.",
    "010": "Thẻ hết giá trị sử dụng.",
    "050": "Không có thông tin thẻ.",
    "051": "Mã thẻ không đúng.",
    "052": "Mã tỉnh cấp thẻ không đúng.",
    "053": "Mã quyền lợi thẻ không đúng.",
    "054": "Cán bộ chưa được đăng ký.",
    "055": "Họ tên cán bộ không đúng.",
    "060": "Thẻ sai họ tên.",
    "061": "Thẻ sai họ tên (đúng ký tự đầu).",
    "070": "Thẻ sai ngày sinh.",
    "100": "Lỗi khi lấy dữ liệu sổ thẻ.",
    "101": "Lỗi server.",
    "110": "Thẻ đã thu hồi.",
    "120": "Thẻ đã báo giảm.",
    "121": "Thẻ đã báo giảm.",
    "122": "Thẻ đã báo giảm.",
    "123": "Thẻ đã báo giảm.",
    "124": "Thẻ đã báo giảm.",
    "130": "Trẻ em không xuất trình thẻ.",
    "205": "Lỗi sai định dạng tham số.",
    "401": "Lỗi xác thực tài khoản.",
}

_NO_CARD_CODES = {"050", "130", "205", "401", "054", "055", "101", "100"}


def card_for_result(result_code: str) -> str:
    """The simulated card number that answers `result_code`.

    A well-formed 15-character BHYT code: group "GD", benefit level 4,
    province 79, then a BHXH number 99999 + the result code.
    """
    return "GD479" + "99999" + result_code.zfill(5)


def _fold(text: str) -> str:
    """Compare names the way a person would: case, spacing and composition aside."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _initials(text: str) -> str:
    return "".join(word[0] for word in _fold(text).split())


def _same(a: str, b: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input."""
    return secrets.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def load_sample_citizens() -> list[dict[str, Any]]:
    """The sample citizens shipped in the `assets` package (not a machine path)."""
    folder = resources.files("assets") / "citizens"
    people = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("citizen-") and entry.name.endswith(".json"):
            people.append(json.loads(entry.read_text(encoding="utf-8")))
    return people


class _Card:
    """What the simulated register holds about one card."""

    def __init__(
        self,
        result_code: str,
        card_code: str | None,
        *,
        name: str | None = None,
        birth: date | None = None,
        sex: str = "",
        address: str = "",
        facility: str = "",
    ) -> None:
        self.result_code = result_code
        self.card_code = card_code
        self.name = name
        self.birth = birth
        self.sex = sex
        self.address = address
        self.facility = facility


def create_simulated_gateway(
    *,
    username: str = "kiosk",
    password: str = "simulated",
    officer_name: str = "NGUYỄN THỊ TIẾP ĐÓN",
    officer_id: str = "001190000001",
    registered_facility: str = "01001",
    token_ttl_seconds: int = 1800,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A gateway app. `registered_facility` is the MA_CSKCB the sample cards
    issued in that facility's province are registered at (so one sample
    patient is on the hospital's own route and others are not)."""

    province = registered_facility[:2]
    cards_by_number: dict[str, _Card] = {}

    for code in RESULT_CODES:
        cards_by_number[card_for_result(code)] = _Card(code, card_for_result(code), facility=registered_facility)

    for person in load_sample_citizens():
        card_code = person.get("bhyt_card_code")
        card_province = card_code[3:5] if card_code else ""
        card = _Card(
            str(person["insurance_result"]),
            card_code,
            name=person["full_name"],
            birth=date.fromisoformat(person["date_of_birth"]) if person.get("date_of_birth") else None,
            sex=person.get("sex", ""),
            address=person.get("place_of_residence") or "",
            # Simulation rule: a card issued in the hospital's province is
            # registered at the hospital, others at a facility of their own
            # province.
            facility=registered_facility if card_province == province else (f"{card_province}024" if card_province else ""),
        )
        cards_by_number[person["id_number"]] = card
        if card_code:
            cards_by_number[card_code] = card

    tokens: dict[str, tuple[str, float]] = {}  # access_token -> (id_token, expires_at)
    lock = threading.Lock()
    md5_password = hashlib.md5(password.encode("utf-8")).hexdigest()

    def password_ok(given: Any) -> bool:
        # DOMAIN.md: clients send the password MD5-hashed (unconfirmed):
        # accept both readings so either client setting works against the simulator.
        return isinstance(given, str) and (_same(given, md5_password) or _same(given, password))

    app = FastAPI(
        title="Simulated BHXH insurance gateway",
        description="Same API shape as the social-security gateway; test data only.",
        version="1",
    )

    def refuse() -> JSONResponse:
        return JSONResponse({"maKetQua": "401", "ghiChu": _NOTES["401"]}, status_code=401)

    @app.post("/api/token/take", summary="Log in and get a token")
    async def take_token(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("username") != username or not password_ok(body.get("password")):
            return refuse()
        access = secrets.token_urlsafe(24)
        id_token = secrets.token_urlsafe(24)
        expires_at = clock() + token_ttl_seconds
        with lock:
            # Forget expired tokens so a long-running simulator does not grow.
            now = clock()
            for stale in [t for t, (_, exp) in tokens.items() if exp <= now]:
                del tokens[stale]
            tokens[access] = (id_token, expires_at)
        return JSONResponse(
            {
                "maKetQua": "200",
                "APIKey": {
                    "access_token": access,
                    "id_token": id_token,
                    "token_type": "Bearer",
                    "username": username,
                    "expires_in": token_expiry_iso(expires_at),
                },
            }
        )

    @app.post("/api/egw/KQNhanLichSuKCB2024", summary="Check a card and get the visit history")
    async def check_card(
        request: Request,
        token: str = Query(""),
        id_token: str = Query(""),
        username_param: str = Query("", alias="username"),
        password_param: str = Query("", alias="password"),
    ) -> JSONResponse:
        with lock:
            known = tokens.get(token)
        if (
            known is None
            or not _same(known[0], id_token)
            or clock() >= known[1]
            or username_param != username
            or not password_ok(password_param)
        ):
            return refuse()
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(_answer("205"))
        return JSONResponse(_lookup(body))

    def _lookup(body: dict[str, Any]) -> dict[str, Any]:
        number = str(body.get("maThe") or "").strip().upper()
        name = str(body.get("hoTen") or "")
        birth_text = str(body.get("ngaySinh") or "")
        if not number or not name.strip() or not re.fullmatch(r"\d{2}/\d{2}/\d{4}", birth_text):
            return _answer("205")
        if str(body.get("cccdCb") or "").strip() != officer_id:
            return _answer("054")
        if _fold(str(body.get("hoTenCb") or "")) != _fold(officer_name):
            return _answer("055")

        card = cards_by_number.get(number)
        if card is None:
            if re.fullmatch(r"\d{10}|\d{12}", number):
                return _answer("050")
            if re.fullmatch(r"[A-Z]{2}\d{13}", number):
                return _answer("051")
            return _answer("205")

        code = card.result_code
        # The register's own data is checked against what the hospital sent,
        # for the people it knows by name (the sample citizens).
        if card.name is not None and code not in _NO_CARD_CODES:
            if _fold(card.name) != _fold(name):
                code = "061" if _initials(card.name) == _initials(name) else "060"
            elif card.birth is not None and birth_text != _dmy(card.birth):
                code = "070"
        return _answer(code, card, name, birth_text)

    def _answer(code: str, card: _Card | None = None, name: str = "", birth_text: str = "") -> dict[str, Any]:
        today = datetime.fromtimestamp(clock(), VIETNAM_TZ).date()
        answer: dict[str, Any] = {
            "maKetQua": code,
            "ghiChu": _NOTES.get(code, ""),
            "maThe": None,
            "hoTen": None,
            "ngaySinh": None,
            "gioiTinh": None,
            "diaChi": None,
            "maDKBD": None,
            "cqBHXH": None,
            "gtTheTu": None,
            "gtTheDen": None,
            "maKV": None,
            "ngayDu5Nam": None,
            "maSoBHXH": None,
            "maTheCu": None,
            "maTheMoi": None,
            "gtTheTuMoi": None,
            "gtTheDenMoi": None,
            "maDKBDMoi": None,
            "tenDKBDMoi": None,
            "dsLichSuKCB2018": [],
            "dsLichSuKT2018": [],
        }
        if card is None or code in _NO_CARD_CODES or card.card_code is None:
            return answer
        this_year = date(today.year, 1, 1)
        year_end = date(today.year, 12, 31)
        answer.update(
            maThe=card.card_code,
            hoTen=card.name or name,
            ngaySinh=_dmy(card.birth) if card.birth else birth_text,
            gioiTinh=card.sex or None,
            diaChi=card.address or None,
            maDKBD=card.facility,
            cqBHXH=f"Bảo hiểm xã hội tỉnh/thành phố mã {card.card_code[3:5]}",
            gtTheTu=_dmy(this_year),
            gtTheDen=_dmy(year_end),
            maSoBHXH=card.card_code[-10:],
        )
        if code == "010":
            answer.update(gtTheTu=_dmy(date(today.year - 1, 1, 1)), gtTheDen=_dmy(date(today.year - 1, 12, 31)))
        if code in ("003", "004"):
            if code == "003":
                answer.update(gtTheTu=_dmy(date(today.year - 1, 1, 1)), gtTheDen=_dmy(date(today.year - 1, 12, 31)))
            # The new card: issued in the hospital's province (the patient
            # moved), registered at the hospital, valid for the year.
            new_code = "GD4" + province + card.card_code[5:]
            answer.update(
                maTheMoi=new_code,
                maTheCu=card.card_code,
                gtTheTuMoi=_dmy(this_year),
                gtTheDenMoi=_dmy(year_end),
                maDKBDMoi=registered_facility,
                tenDKBDMoi="Bệnh viện (cơ sở đăng ký ban đầu mới)",
            )
        return answer

    return app
