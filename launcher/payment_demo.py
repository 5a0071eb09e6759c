"""The demo's bank: pays the VietQR on the kiosk screen, as a patient's banking app would.

The simulated bank (`server.simulated_bank`) reads the very code the screen
shows, books the transfer and sends the signed callback to the embedded
hub over HTTP; the kiosk's payment watcher then learns it was paid. Nothing
here reaches into the kiosk's state except to read the code on screen.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

#: The NAPAS example account (DOMAIN.md §5): the demo never shows a live account.
DEMO_PAYMENT_ENVIRON = {
    "KIOSK_PAYMENT_ENABLED": "true",
    "KIOSK_PAYMENT_BANK_BIN": "970403",
    "KIOSK_PAYMENT_ACCOUNT": "0011012345678",
    "KIOSK_PAYMENT_ACCOUNT_NAME": "BENH VIEN DA KHOA TINH",
}


def pay_on_screen(kiosk: Any) -> bool:
    """Pay the VietQR shown now; False when there is none (or no embedded hub)."""
    from server.payments import callback_secret
    from server.simulated_bank import SimulatedBank

    payment = kiosk.flow.state.session.payment
    hub = kiosk.embedded_hub
    if payment is None or payment.paid or hub is None:
        return False
    delivery = SimulatedBank(hub.url, callback_secret(hub.settings)).pay(payment.qr_payload)
    log.info("simulated bank: transfer %s delivered, hub answered %s", delivery.transaction_id, delivery.status_code)
    return delivery.status_code == 200


def demo_bank_shortcut(window: Any, kiosk: Any) -> Any:
    """Key P in the interactive demo: the simulated bank pays the code on screen.

    The callback goes over HTTP, so it runs on its own thread, never the GUI's.
    """
    import threading

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence, QShortcut

    def pay() -> None:
        try:
            pay_on_screen(kiosk)
        except Exception as exc:  # a demo hiccup must not take the kiosk down
            log.error("simulated bank failed: %s", type(exc).__name__)

    shortcut = QShortcut(QKeySequence(Qt.Key.Key_P), window)
    shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
    shortcut.activated.connect(lambda: threading.Thread(target=pay, name="demo-bank", daemon=True).start())
    return shortcut
