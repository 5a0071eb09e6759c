"""The technician console's pages: readers, camera, printer, hub,
configuration, outbox and logs.

Each page calls `kiosk.technician.TechnicianConsole` only, off the UI thread
through `Background`; none touches a driver. Nothing here shows patient
data: card events are "placed/removed", QR codes are named by kind, outbox
rows by a shortened registration key.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import SCHEMA
from kiosk.errors import ConfigError, KioskError
from kiosk.technician import READER_BUSY, CameraSample, OutboxView, TechnicianConsole, TestReadResult
from ui.i18n import translate
from ui.technician.worker import BUSY_AFTER_MS, Background
from ui.widgets import BusyIndicator, button, label


def error_text(error: BaseException) -> str:
    """What went wrong, in the codes and keys a technician looks up."""
    if isinstance(error, ConfigError):
        return f"{error.key}: {error.problem}"
    if isinstance(error, KioskError):
        return f"{error.code}: {error}"
    return type(error).__name__


class ConsolePage(QWidget):
    """A page: a title, a body, and a place for the last outcome."""

    name = ""
    # False on a page that polls in the background all the time (camera):
    # a ring that never stops says nothing.
    shows_busy = True

    def __init__(self, console: TechnicianConsole) -> None:
        super().__init__()
        self.console = console
        self.background = Background(self)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(8)
        # The page scrolls when it holds more than the screen (large text, a
        # long list); the outcome of the last action stays in view below it.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        self.title = label("strong")
        column.addWidget(self.title)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        column.addLayout(self.body)
        column.addStretch(1)
        scroll.setWidget(inner)
        root.addWidget(scroll, 1)
        self.outcome = label("lead")
        self.busy = BusyIndicator(56)
        self.busy.hide()
        last = QHBoxLayout()
        last.setSpacing(16)
        last.addWidget(self.busy)
        last.addWidget(self.outcome, 1)
        root.addLayout(last)
        self._busy_later = QTimer(self)
        self._busy_later.setSingleShot(True)
        self._busy_later.setInterval(BUSY_AFTER_MS)
        self._busy_later.timeout.connect(self.busy.show)
        self.background.busy_changed.connect(self._busy_changed)
        self.build()
        self.retranslate()

    def build(self) -> None: ...

    def retranslate(self) -> None: ...

    def opened(self) -> None:
        """The page came on screen."""

    def closed(self) -> None:
        """The page left the screen (or technician mode ended)."""

    def say(self, text: str) -> None:
        self.outcome.setText(text)

    def _busy_changed(self, busy: bool) -> None:
        if busy and self.shows_busy:
            self._busy_later.start()
        else:
            self._busy_later.stop()
            self.busy.hide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(16)
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row


# -- readers -----------------------------------------------------------------------------------


class ReadersPage(ConsolePage):
    name = "readers"

    def build(self) -> None:
        self.readers = label()
        self.events = label("muted")
        self.test = button("primary")
        self.test.setObjectName("test-read")
        self.test.clicked.connect(self.test_read)
        self.body.addWidget(self.readers)
        self.body.addWidget(self.events)
        self.body.addLayout(_row(self.test))
        self._poll = QTimer(self)
        self._poll.setInterval(300)
        self._poll.timeout.connect(self.refresh)
        self._result: TestReadResult | None = None

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Đầu đọc thẻ"))
        self.test.setText(translate("Technician", "Đọc thử thẻ"))
        self.refresh()
        self._show_result()

    def opened(self) -> None:
        self.console.watch_cards(True)
        self._poll.start()
        self.refresh()

    def closed(self) -> None:
        self._poll.stop()
        self.console.watch_cards(False)

    def refresh(self) -> None:
        names = "\n".join(f"• {n}" for n in self.console.reader_names())
        self.readers.setText(translate("Technician", "Đầu đọc:") + "\n" + names)
        lines = []
        for event in self.console.card_events()[-8:][::-1]:
            what = translate("Technician", "thẻ đặt vào") if event.placed else translate("Technician", "thẻ nhấc ra")
            lines.append(f"{event.at.strftime('%H:%M:%S')}  {what}")
        self.events.setText(
            translate("Technician", "Sự kiện thẻ (mới nhất trước):")
            + "\n"
            + ("\n".join(lines) if lines else translate("Technician", "(chưa có)"))
        )

    def test_read(self) -> None:
        # One test read at a time: each waits its turn with the card, and a
        # second press would only queue another behind it.
        self.test.setEnabled(False)
        self.say(translate("Technician", "Đang đọc thử…"))
        self.background.run(self.console.test_read, self._read_done)

    def _read_done(self, result: TestReadResult | None, error: BaseException | None) -> None:
        self.test.setEnabled(True)
        self._result = result if error is None else TestReadResult(False, error_text(error))
        self._show_result()

    def _show_result(self) -> None:
        r = self._result
        if r is None:
            self.say("")
        elif r.ok:
            self.say(translate("Technician", "Đọc thử được: chip trả lời đúng chuẩn ICAO 9303."))
        elif r.code == "no_card":
            self.say(translate("Technician", "Không có thẻ trên đầu đọc. Đặt một thẻ CCCD rồi thử lại."))
        elif r.code == READER_BUSY:
            self.say(
                translate(
                    "Technician", "Đầu đọc đang bận: máy đang đọc thẻ của người bệnh. Chờ một lát rồi đọc thử lại."
                )
            )
        elif r.code == "not_icao":
            self.say(translate("Technician", "Thẻ trả lời {sw}: không phải chip CCCD.").format(sw=r.detail or "?"))
        else:
            self.say(translate("Technician", "Đọc thử lỗi: {code}").format(code=r.code))


# -- camera --------------------------------------------------------------------------------------


def frame_pixmap(frame: Any, width: int, height_limit: int) -> QPixmap | None:
    """An RGB (h, w, 3) uint8 frame as a pixmap that fits width x height_limit."""
    try:
        height, frame_width = int(frame.shape[0]), int(frame.shape[1])
        data = frame.tobytes()
    except (AttributeError, IndexError, TypeError):
        return None
    image = QImage(data, frame_width, height, 3 * frame_width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(
        width, height_limit, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class CameraPage(ConsolePage):
    name = "camera"
    shows_busy = False

    def build(self) -> None:
        self.preview = label("preview", align=Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(480, 270)
        self.preview.setMaximumHeight(300)
        # The QR overlay: what the decoder sees in this frame, over the picture.
        self.overlay = label("badge", align=Qt.AlignmentFlag.AlignCenter)
        self.overlay.setParent(self.preview)
        self.overlay.setStyleSheet("background: #0b2a4a; color: #ffffff; padding: 6px 12px; font-weight: bold;")
        self.rate = label("lead")
        self.body.addWidget(self.preview)
        self.body.addWidget(self.rate)
        self._poll = QTimer(self)
        self._poll.setInterval(250)
        self._poll.timeout.connect(self.sample)
        self.last: CameraSample | None = None

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Camera"))
        self._show()

    def opened(self) -> None:
        if self.console.camera_available():
            self._poll.start()
            self.sample()
        self._show()

    def closed(self) -> None:
        self._poll.stop()

    def sample(self) -> None:
        if self.background.running:
            return  # the decoder is slower than the timer: skip, never queue
        self.background.run(self.console.sample_camera, self._sampled)

    def _sampled(self, sample: CameraSample | None, error: BaseException | None) -> None:
        if error is not None:
            self.say(error_text(error))
            return
        self.last = sample
        self._show()

    @staticmethod
    def _kind(kind: str) -> str:
        names = {"CccdQr": "CCCD", "BhytQr": "BHYT", "VietQr": "VietQR", "VneidToken": "VNeID", "HubCode": "hub"}
        return names.get(kind) or translate("Technician", "không hợp lệ")

    def _show(self) -> None:
        if not self.console.camera_available():
            self.preview.setText(translate("Technician", "Không có camera (camera.backend = none)."))
            self.rate.setText("")
            return
        s = self.last
        if s is None:
            self.rate.setText(translate("Technician", "Đang chờ hình…"))
            return
        pixmap = (
            frame_pixmap(s.frame, max(self.preview.width(), 480), max(self.preview.height(), 270))
            if s.frame is not None
            else None
        )
        if pixmap is not None:
            self.preview.setPixmap(pixmap)
        else:
            self.preview.setText(translate("Technician", "Camera chưa gửi hình."))
        if s.kinds:
            self.overlay.setText(translate("Technician", "Thấy mã QR: {kinds}").format(kinds=", ".join(self._kind(k) for k in s.kinds)))
            self.overlay.adjustSize()
            self.overlay.move(8, 8)
            self.overlay.show()
        else:
            self.overlay.hide()
        self.rate.setText(
            translate("Technician", "Tỉ lệ giải mã: {percent}% ({frames} khung gần nhất)").format(
                percent=round(100 * s.decode_rate), frames=s.frames
            )
        )


# -- printer --------------------------------------------------------------------------------------


class PrinterPage(ConsolePage):
    name = "printer"

    def build(self) -> None:
        self.status = label()
        self.test = button("primary")
        self.test.setObjectName("test-page")
        self.test.clicked.connect(self.print_test)
        self.check = button()
        self.check.setObjectName("printer-status")
        self.check.clicked.connect(self.refresh)
        self.body.addWidget(self.status)
        self.body.addLayout(_row(self.test, self.check))
        self._status = None

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Máy in"))
        self.test.setText(translate("Technician", "In trang thử"))
        self.check.setText(translate("Technician", "Kiểm tra trạng thái"))
        self._show_status()

    def opened(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.background.run(self.console.printer_status, self._got_status)

    def _got_status(self, status: Any, error: BaseException | None) -> None:
        self._status = status
        if error is not None:
            self.say(error_text(error))
        self._show_status()

    def _show_status(self) -> None:
        s = self._status
        if s is None:
            self.status.setText(translate("Technician", "Trạng thái: đang kiểm tra…"))
            return
        if s.ready:
            words = translate("Technician", "sẵn sàng")
        elif not s.online:
            words = translate("Technician", "không kết nối được")
        elif s.paper_out:
            words = translate("Technician", "hết giấy")
        elif s.cover_open:
            words = translate("Technician", "nắp đang mở")
        else:
            words = translate("Technician", "chưa sẵn sàng")
        text = translate("Technician", "Trạng thái: {status}").format(status=words)
        if s.paper_near_end:
            text += " · " + translate("Technician", "sắp hết giấy")
        if s.detail:
            text += f" ({s.detail})"
        self.status.setText(text)

    def print_test(self) -> None:
        self.say(translate("Technician", "Đang in…"))
        self.background.run(self.console.print_test_page, self._printed)

    def _printed(self, _result: Any, error: BaseException | None) -> None:
        if error is None:
            self.say(translate("Technician", "Đã in trang thử."))
        else:
            self.say(translate("Technician", "Không in được: {error}").format(error=error_text(error)))
        self.refresh()


# -- hub ------------------------------------------------------------------------------------------------


class HubPage(ConsolePage):
    name = "hub"

    def build(self) -> None:
        self.current = label()
        self.url = QLineEdit()
        self.url.setObjectName("hub-url")
        self.kiosk_id = QLineEdit()
        self.kiosk_id.setObjectName("hub-kiosk-id")
        self.secret = QLineEdit()
        self.secret.setObjectName("hub-secret")
        # For the on-screen keyboard (ui/keyboard.py): an address and an id
        # take no automatic capital and no word suggestions.
        plain = Qt.InputMethodHint.ImhNoAutoUppercase | Qt.InputMethodHint.ImhNoPredictiveText
        self.url.setInputMethodHints(plain | Qt.InputMethodHint.ImhUrlCharactersOnly)
        self.kiosk_id.setInputMethodHints(plain)
        # The credential is typed, never shown back.
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.url_label, self.id_label, self.secret_label = label(), label(), label()
        for lab, edit in ((self.url_label, self.url), (self.id_label, self.kiosk_id), (self.secret_label, self.secret)):
            self.body.addWidget(lab)
            self.body.addWidget(edit)
        self.test = button()
        self.test.setObjectName("hub-test")
        self.test.clicked.connect(self.test_connection)
        self.save = button("primary")
        self.save.setObjectName("hub-save")
        self.save.clicked.connect(self.save_settings)
        self.body.insertWidget(0, self.current)
        self.body.addLayout(_row(self.test, self.save))

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Máy chủ (hub)"))
        self.url_label.setText(translate("Technician", "Địa chỉ (https://…)"))
        self.id_label.setText(translate("Technician", "Mã kiosk"))
        self.secret_label.setText(translate("Technician", "Khoá bí mật (để trống: giữ khoá cũ khi kiểm tra)"))
        self.test.setText(translate("Technician", "Kiểm tra kết nối"))
        self.save.setText(translate("Technician", "Lưu"))
        self._show_current()

    def opened(self) -> None:
        settings = self.console.hub_settings()
        self.url.setText(settings.url)
        self.kiosk_id.setText(settings.kiosk_id)
        self.secret.clear()
        self._show_current()

    def closed(self) -> None:
        self.secret.clear()  # a credential does not wait on screen

    def _show_current(self) -> None:
        s = self.console.hub_settings()
        self.current.setText(
            translate("Technician", "Đang dùng: {backend} · {url} · kiosk {kiosk}").format(
                backend=s.backend, url=s.url or "—", kiosk=s.kiosk_id
            )
        )

    def _values(self) -> tuple[str, str, str]:
        return self.url.text().strip(), self.kiosk_id.text().strip(), self.secret.text()

    def test_connection(self) -> None:
        url, kid, secret = self._values()
        self.say(translate("Technician", "Đang kết nối…"))
        self.background.run(lambda: self.console.test_hub(url, kid, secret), self._tested)

    def _tested(self, ok: bool | None, error: BaseException | None) -> None:
        if error is not None:
            self.say(translate("Technician", "Máy chủ từ chối: {error}").format(error=error_text(error)))
        elif ok:
            self.say(translate("Technician", "Kết nối được, máy chủ chấp nhận kiosk này."))
        else:
            self.say(translate("Technician", "Không kết nối được máy chủ. Kiểm tra địa chỉ và mạng."))

    def save_settings(self) -> None:
        url, kid, secret = self._values()
        self.background.run(lambda: self.console.save_hub(url, kid, secret), self._saved)

    def _saved(self, _result: Any, error: BaseException | None) -> None:
        self.secret.clear()
        if error is not None:
            self.say(translate("Technician", "Chưa lưu: {error}").format(error=error_text(error)))
        else:
            self.say(translate("Technician", "Đã lưu. Khởi động lại ứng dụng để dùng cấu hình mới."))
        self._show_current()


# -- configuration ------------------------------------------------------------------------------------


class ConfigPage(ConsolePage):
    name = "config"

    def build(self) -> None:
        self.key = QComboBox()
        self.key.setObjectName("config-key")
        self.value = QLineEdit()
        self.value.setObjectName("config-value")
        self.save = button("primary")
        self.save.setObjectName("config-save")
        self.save.clicked.connect(self.save_value)
        self.key.currentTextChanged.connect(self._key_chosen)
        self.where = label("muted")
        self.body.addWidget(self.where)
        self.doc = label("muted")
        self.body.addWidget(self.key)
        self.body.addWidget(self.doc)
        self.body.addWidget(self.value)
        self.restart = button()
        self.restart.setObjectName("technician-restart")
        self.body.addLayout(_row(self.save, self.restart))

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Cấu hình"))
        self.save.setText(translate("Technician", "Kiểm tra và lưu"))
        self.restart.setText(translate("Technician", "Khởi động lại ứng dụng"))
        self._show_where()

    def _show_where(self) -> None:
        if self.console.config_editable():
            self.where.setText(translate("Technician", "Mỗi thay đổi được kiểm tra trước khi ghi vào tệp cấu hình."))
        else:
            self.where.setText(translate("Technician", "Ứng dụng chạy không có tệp cấu hình (--config): chỉ xem."))
        self.save.setEnabled(self.console.config_editable())

    def opened(self) -> None:
        values = self.console.config_values()
        chosen = self.key.currentText()
        self.key.blockSignals(True)
        self.key.clear()
        self.key.addItems([k for k in values if k != "hub.secret_file"])
        self.key.blockSignals(False)
        if chosen in values:
            self.key.setCurrentText(chosen)
        self._key_chosen(self.key.currentText())
        self._show_where()

    def _key_chosen(self, key: str) -> None:
        self.value.setText(self.console.config_values().get(key, ""))
        section, _, name = key.partition(".")
        spec = SCHEMA.get(section, {}).get(name)
        self.doc.setText(spec.doc if spec else "")  # the schema's own words (English)
        # The on-screen keyboard opens on its number layout for a number.
        hints = Qt.InputMethodHint.ImhNone
        if spec is not None and spec.type in (int, float):
            hints = Qt.InputMethodHint.ImhFormattedNumbersOnly
        elif spec is not None and spec.type is bool:
            hints = Qt.InputMethodHint.ImhNoAutoUppercase | Qt.InputMethodHint.ImhNoPredictiveText
        self.value.setInputMethodHints(hints)

    def save_value(self) -> None:
        key, text = self.key.currentText(), self.value.text()
        self.background.run(lambda: self.console.save_config({key: text}), self._saved)

    def _saved(self, _config: Any, error: BaseException | None) -> None:
        if error is not None:
            self.say(translate("Technician", "Không hợp lệ, chưa lưu: {error}").format(error=error_text(error)))
        else:
            self.say(translate("Technician", "Đã lưu. Khởi động lại ứng dụng để dùng cấu hình mới."))


# -- outbox -------------------------------------------------------------------------------------------


class OutboxPage(ConsolePage):
    name = "outbox"

    def build(self) -> None:
        self.summary = label("lead")
        self.rows = label("muted")
        self.sync = button("primary")
        self.sync.setObjectName("force-sync")
        self.sync.clicked.connect(self.force_sync)
        self.reload = button()
        self.reload.setObjectName("outbox-refresh")
        self.reload.clicked.connect(self.refresh)
        self.body.addWidget(self.summary)
        self.body.addWidget(self.rows)
        self.body.addLayout(_row(self.sync, self.reload))
        self.view: OutboxView | None = None

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Hàng đợi gửi (outbox)"))
        self.sync.setText(translate("Technician", "Gửi ngay"))
        self.reload.setText(translate("Technician", "Làm mới"))
        self._show()

    def opened(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.background.run(self.console.outbox, self._got)

    def _got(self, view: OutboxView | None, error: BaseException | None) -> None:
        if error is not None:
            self.say(error_text(error))
            return
        self.view = view
        self._show()

    def _show(self) -> None:
        v = self.view
        if v is None:
            self.summary.setText("")
            self.rows.setText("")
            return
        state = translate("Technician", "đã kết nối") if v.online else translate("Technician", "mất kết nối")
        self.summary.setText(
            translate("Technician", "Chờ gửi: {pending} · bị từ chối: {rejected} · máy chủ: {state}").format(
                pending=v.pending, rejected=len(v.rejected), state=state
            )
        )
        lines = []
        for row in v.rejected[-10:]:
            when = row.created_at.strftime("%d/%m %H:%M") if row.created_at else "—"
            lines.append(f"{row.key[:8]}  {when}  {row.reason}")
        self.rows.setText(
            translate("Technician", "Bị từ chối (lý do):") + "\n" + "\n".join(lines) if lines else ""
        )

    def force_sync(self) -> None:
        self.background.run(self.console.force_sync, self._synced)

    def _synced(self, _result: Any, error: BaseException | None) -> None:
        self.say(translate("Technician", "Đã yêu cầu gửi ngay.") if error is None else error_text(error))
        self.refresh()


# -- logs ------------------------------------------------------------------------------------------------


class LogsPage(ConsolePage):
    name = "logs"

    def build(self) -> None:
        self.note = label("muted")
        self.export = button("primary")
        self.export.setObjectName("export-logs")
        self.export.clicked.connect(self.export_logs)
        self.body.addWidget(self.note)
        self.body.addLayout(_row(self.export))

    def retranslate(self) -> None:
        self.title.setText(translate("Technician", "Nhật ký"))
        self.note.setText(
            translate("Technician", "Xuất nhật ký gần đây và nhật ký kỹ thuật. Số giấy tờ và mã thẻ được che.")
        )
        self.export.setText(translate("Technician", "Xuất nhật ký"))

    def export_logs(self) -> None:
        self.background.run(self.console.export_logs, self._exported)

    def _exported(self, path: Any, error: BaseException | None) -> None:
        if error is not None:
            self.say(translate("Technician", "Không xuất được: {error}").format(error=error_text(error)))
        else:
            self.say(translate("Technician", "Đã xuất: {path}").format(path=str(path)))


PAGES: tuple[type[ConsolePage], ...] = (
    ReadersPage,
    CameraPage,
    PrinterPage,
    HubPage,
    ConfigPage,
    OutboxPage,
    LogsPage,
)
