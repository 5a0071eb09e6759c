"""Errors the application understands, raised by drivers and services alike.

Each error a patient can meet carries what to tell them. The screens show
`guidance_vi`/`guidance_en`; logs get only the class name and `code`, never
personal data.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base class. `code` is stable and safe to log."""

    code = "kiosk_error"
    guidance_vi = "Đã có lỗi. Vui lòng đến quầy tiếp đón để được hỗ trợ."
    guidance_en = "Something went wrong. Please go to the reception desk for help."


class ConfigError(KioskError):
    code = "config_error"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"configuration key {key!r}: {problem}")
        self.key = key
        self.problem = problem


# -- card -------------------------------------------------------------------


class CardError(KioskError):
    code = "card_error"
    guidance_vi = "Không đọc được thẻ. Vui lòng đặt lại thẻ lên đầu đọc và giữ yên."
    guidance_en = "The card could not be read. Please place it on the reader again and hold it still."


class NoCardError(CardError):
    code = "no_card"
    guidance_vi = "Chưa có thẻ trên đầu đọc. Vui lòng đặt thẻ CCCD lên đầu đọc."
    guidance_en = "There is no card on the reader. Please place your ID card on the reader."


class CardRemovedError(CardError):
    """The card left the field in the middle of an exchange."""

    code = "card_removed"
    guidance_vi = "Thẻ bị nhấc ra khi đang đọc. Vui lòng đặt lại thẻ và giữ yên đến khi xong."
    guidance_en = "The card was lifted while reading. Please place it again and hold it until done."


class CardLinkError(CardError):
    """The reader could not carry one exchange, but the card is still there
    (e.g. an extended-length APDU on a reader whose frames are too small)."""

    code = "card_link"


class StatusWordError(CardError):
    """The card answered a status word other than 9000."""

    code = "status_word"

    def __init__(self, sw: int, command: str = "") -> None:
        super().__init__(f"{command} answered {sw:04X}" if command else f"card answered {sw:04X}")
        self.sw = sw
        self.command = command


class FileNotFoundOnCard(StatusWordError):
    code = "file_not_found"  # 6A82


class SecurityStatusNotSatisfied(StatusWordError):
    code = "security_status"  # 6982: wrong key, or file needs EAC


class SecureMessagingError(CardError):
    """A response MAC failed or SM data objects were missing (6987/6988)."""

    code = "secure_messaging"


class AccessKeyRejected(CardError):
    """Every access key we tried was refused by the chip."""

    code = "access_key_rejected"
    guidance_vi = "Thông tin trên thẻ không khớp với chip. Vui lòng đến quầy tiếp đón."
    guidance_en = "The card details did not open the chip. Please go to the reception desk."


class MalformedDataError(CardError):
    """A TLV structure or data group did not parse."""

    code = "malformed_data"


class CardNotGenuineError(CardError):
    code = "card_not_genuine"
    guidance_vi = "Không xác thực được thẻ. Vui lòng mang thẻ đến quầy tiếp đón."
    guidance_en = "The card could not be verified as genuine. Please take it to the reception desk."


# -- QR codes -----------------------------------------------------------------


class QrRejected(KioskError):
    code = "qr_rejected"
    guidance_vi = "Mã QR này không dùng được để đăng ký khám. Vui lòng dùng mã trên thẻ CCCD, thẻ BHYT hoặc ứng dụng VNeID."
    guidance_en = "This QR code cannot be used to check in. Please show the QR on your ID card, insurance card or VNeID app."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- hub ----------------------------------------------------------------------


class HubError(KioskError):
    code = "hub_error"


class HubUnavailable(HubError):
    """The hub could not be reached or did not answer in time: retry later."""

    code = "hub_unavailable"
    guidance_vi = (
        "Mất kết nối với máy chủ bệnh viện. Máy vẫn cấp số thứ tự; dữ liệu sẽ được gửi sau."
        " Vui lòng tiếp tục đăng ký như bình thường."
    )
    guidance_en = (
        "The hospital server cannot be reached. The kiosk still issues your number and sends it later."
        " Please go on registering as usual."
    )

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HubRejected(HubError):
    """The hub refused the request for good (validation): do not retry."""

    code = "hub_rejected"
    guidance_vi = "Máy chủ bệnh viện không nhận đăng ký này. Vui lòng đến quầy tiếp đón để được đăng ký trực tiếp."
    guidance_en = "The hospital server did not accept this registration. Please go to the reception desk to register in person."

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class VneidRejected(HubRejected):
    """The hub's VNeID verification service refused the code: not one it
    issued, or it names nobody. Showing the same code again will not help."""

    code = "vneid_rejected"
    guidance_vi = "Không xác thực được mã VNeID. Vui lòng đặt thẻ CCCD lên đầu đọc hoặc đến quầy tiếp đón."
    guidance_en = "The VNeID code could not be verified. Please place your ID card on the reader or go to the reception desk."


class VneidExpired(VneidRejected):
    """The VNeID code is older than its validity (about a minute)."""

    code = "vneid_expired"
    guidance_vi = "Mã VNeID đã hết hạn. Vui lòng mở lại mã QR trong ứng dụng VNeID rồi đưa vào camera."
    guidance_en = "The VNeID code has expired. Please open a new QR code in the VNeID app and show it to the camera."


# -- printer ------------------------------------------------------------------


class PrinterError(KioskError):
    code = "printer_error"
    guidance_vi = "Máy in đang gặp sự cố. Vui lòng ghi nhớ hoặc chụp lại số thứ tự trên màn hình."
    guidance_en = "The printer has a problem. Please note or photograph the number on the screen."


class PrinterOutOfPaper(PrinterError):
    code = "printer_paper_out"
    guidance_vi = "Máy in hết giấy. Vui lòng ghi nhớ số thứ tự trên màn hình và báo nhân viên."
    guidance_en = "The printer is out of paper. Please note the number on the screen and tell a staff member."


class PrinterOffline(PrinterError):
    code = "printer_offline"


# -- storage ------------------------------------------------------------------


class StorageError(KioskError):
    """The local store could not write (disk full, read-only, corrupt)."""

    code = "storage_error"
    guidance_vi = "Máy không lưu được dữ liệu. Vui lòng đến quầy tiếp đón."
    guidance_en = "The kiosk could not save your registration. Please go to the reception desk."
