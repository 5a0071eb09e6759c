"""Spoken prompts: one short Vietnamese sentence for each step of the flow.

Many patients are elderly and some cannot read small print; a voice that
says what to do next helps them through the kiosk alone. The sentences name
the buttons as the screens write them. They never say personal data (no
name, no ID number): the kiosk stands in a public hall.

`VoiceGuide` observes a `CheckInFlow` and asks a `kiosk.ports.VoicePrompter`
to speak when what the patient must do changes, and only then (a progress
update while a card is read is not a new instruction).
"""

from __future__ import annotations

import logging
import threading

from kiosk.flow import FlowState, Step
from kiosk.ports import VoicePrompter

log = logging.getLogger(__name__)

PROMPTS_VI: dict[str, str] = {
    "idle": "Xin chào. Mời bạn đặt thẻ căn cước lên đầu đọc, hoặc chạm vào nút Bắt đầu.",
    "identify": "Vui lòng đặt thẻ căn cước lên đầu đọc, mặt có mã QR hướng vào camera.",
    "identify:place_card": "Vui lòng đặt thẻ căn cước lên đầu đọc, mặt có mã QR hướng vào camera.",
    "identify:show_qr": "Vui lòng đưa mặt trước của thẻ, chỗ có mã QR, vào trước camera.",
    "identify:place_card_after_qr": "Đã đọc được mã QR. Bây giờ vui lòng đặt thẻ lên đầu đọc.",
    "identify:place_card_after_id": "Đã nhận số căn cước. Bây giờ vui lòng đặt thẻ lên đầu đọc.",
    "identify:busy": "Đang đọc thẻ. Vui lòng giữ yên thẻ.",
    "identity_check": "Vui lòng xem thông tin trên màn hình. Nếu đúng là bạn, bấm Đúng, tiếp tục.",
    "insurance:busy": "Đang kiểm tra bảo hiểm y tế, vui lòng chờ.",
    "insurance:valid": "Thẻ bảo hiểm y tế còn hiệu lực. Máy sẽ tự chuyển sang bước tiếp theo.",
    "insurance": "Đã có kết quả kiểm tra bảo hiểm y tế. Vui lòng xem màn hình, rồi bấm Tiếp tục.",
    "visit_type": "Bạn đến khám theo hình thức nào? Vui lòng chọn trên màn hình.",
    "department": "Vui lòng chọn khoa bạn muốn khám.",
    "department:service": "Vui lòng chọn dịch vụ khám.",
    "confirm": "Vui lòng kiểm tra lại thông tin, rồi bấm Xác nhận và in phiếu.",
    "printing": "Đang in phiếu, vui lòng chờ.",
    "done": "Vui lòng lấy phiếu số thứ tự, rồi đến phòng khám ghi trên phiếu. Xin cảm ơn.",
    "done:print_error": "Máy chưa in được phiếu. Vui lòng ghi lại số trên màn hình và đến quầy tiếp đón.",
    "error": "Đã có lỗi. Vui lòng đến quầy tiếp đón để được hỗ trợ.",
}


def prompt_key(state: FlowState) -> str:
    """Which instruction `state` calls for; the same key means nothing new to say."""
    step = state.step
    if step is Step.ERROR:
        return f"error:{state.error.code}" if state.error is not None else "error"
    if step is Step.IDENTIFY:
        if state.busy:
            return "identify:busy"
        return f"identify:{state.prompt}" if state.prompt else "identify"
    if step is Step.INSURANCE and state.busy:
        return "insurance:busy"
    if step is Step.INSURANCE and state.session.insurance is not None:
        # A covered answer goes on by itself (ui InsuranceScreen): say so.
        return "insurance:valid" if state.session.insurance.status.covered else "insurance"
    if step is Step.DEPARTMENT and state.session.department is not None:
        return "department:service"
    if step is Step.DONE and state.session.print_error is not None:
        return "done:print_error"
    return step.value


def prompt_text(state: FlowState) -> str | None:
    """The sentence to say for `state` (None: stay quiet)."""
    key = prompt_key(state)
    if state.step is Step.ERROR and state.error is not None:
        # Each error carries its own "what to do next" (kiosk/errors.py).
        return state.error.guidance_vi or PROMPTS_VI["error"]
    if state.step is Step.DONE and state.session.print_error is not None:
        return state.session.print_error.guidance_vi or PROMPTS_VI["done:print_error"]
    return PROMPTS_VI.get(key) or PROMPTS_VI.get(key.split(":", 1)[0])


class VoiceGuide:
    """Flow observer: speaks when the instruction changes.

    `speak_idle`: whether to greet on the welcome screen (off by default: a
    kiosk that talks to an empty hall every minute is a nuisance).
    """

    def __init__(self, prompter: VoicePrompter, *, speak_idle: bool = False) -> None:
        self._prompter = prompter
        self._speak_idle = speak_idle
        self._last: str | None = None
        self._lock = threading.Lock()

    def __call__(self, state: FlowState) -> None:
        key = prompt_key(state)
        with self._lock:
            if key == self._last:
                return
            self._last = key
        if state.step is Step.IDLE:
            self._prompter.stop()  # the session ended: no sentence outlives it
            if not self._speak_idle:
                return
        text = prompt_text(state)
        if text:
            try:
                self._prompter.say(text, "vi")
            except Exception as exc:  # a voice failure never stops a check-in
                log.warning("voice prompt failed: %s", type(exc).__name__)
