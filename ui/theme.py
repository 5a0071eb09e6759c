"""One place for the kiosk's look: colours, sizes and the Qt style sheet.

The people at this screen are often elderly, standing, sometimes without
their glasses, and touching with a finger that may shake. So:

* every touch target is at least 15 mm on the actual screen (computed from
  its DPI), never less than 90 px;
* body text is 22 pt or more, titles and the queue number far larger, and a
  "large text" mode scales everything up again;
* every text colour reaches a WCAG 2.x contrast of 7:1 (level AAA) against
  the background it is drawn on. `CONTRAST_PAIRS` lists those pairs and a
  unit test computes them, so a colour change that breaks the rule fails CI.

Screens never hard-code a colour or a size; they set a `role` property on a
widget and this style sheet decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Noto Sans has every Vietnamese letter with stacked diacritics (ẫ, ặ, ự);
# DejaVu Sans is the fallback that is also installed on the kiosk image.
FONT_FAMILIES = ('"Noto Sans"', '"DejaVu Sans"', "sans-serif")

MM_PER_INCH = 25.4
TOUCH_TARGET_MM = 15.0
# Whatever the screen claims, never smaller than this: some panels report a
# DPI far below the truth, which would make 15 mm come out tiny.
TOUCH_TARGET_FLOOR_PX = 90


def touch_target_px(logical_dpi: float) -> int:
    """The smallest side of a touch target, in logical pixels."""
    if not math.isfinite(logical_dpi) or logical_dpi <= 0:
        return TOUCH_TARGET_FLOOR_PX
    return max(TOUCH_TARGET_FLOOR_PX, math.ceil(TOUCH_TARGET_MM / MM_PER_INCH * logical_dpi))


# -- colour -------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    background: str = "#FFFFFF"
    surface: str = "#EEF1F5"  # panels and cards on the background
    text: str = "#111418"
    text_muted: str = "#3A4350"  # secondary lines: still 7:1 on surface
    primary: str = "#0B3D91"  # main action buttons
    primary_pressed: str = "#06275E"
    on_primary: str = "#FFFFFF"
    secondary_text: str = "#0B3D91"  # outlined buttons: blue text on white
    border: str = "#0B3D91"
    top_bar: str = "#0A2A52"
    on_top_bar: str = "#FFFFFF"
    success_bg: str = "#E3F2E6"
    success_text: str = "#0A4F1E"
    warning_bg: str = "#FFF1CC"
    warning_text: str = "#4A3000"
    danger_bg: str = "#FCE8E8"
    danger_text: str = "#7A0F0F"
    info_bg: str = "#E6EEFA"
    info_text: str = "#0A3478"
    offline_bg: str = "#FFD966"  # the offline pill on the dark top bar
    offline_text: str = "#1E1600"
    online_text: str = "#FFFFFF"
    pressed_bg: str = "#D5DEEB"  # outlined button while pressed


PALETTE = Palette()


def _pairs(p: Palette) -> list[tuple[str, str, str]]:
    """(what, foreground, background) for every text the style sheet draws."""
    return [
        ("body text", p.text, p.background),
        ("body text on panels", p.text, p.surface),
        ("muted text", p.text_muted, p.background),
        ("muted text on panels", p.text_muted, p.surface),
        ("primary button", p.on_primary, p.primary),
        ("primary button pressed", p.on_primary, p.primary_pressed),
        ("outlined button", p.secondary_text, p.background),
        ("outlined button pressed", p.secondary_text, p.pressed_bg),
        ("top bar", p.on_top_bar, p.top_bar),
        ("online indicator", p.online_text, p.top_bar),
        ("offline indicator", p.offline_text, p.offline_bg),
        ("success", p.success_text, p.success_bg),
        ("warning", p.warning_text, p.warning_bg),
        ("danger", p.danger_text, p.danger_bg),
        ("info", p.info_text, p.info_bg),
    ]


CONTRAST_PAIRS = _pairs(PALETTE)
MIN_CONTRAST = 7.0  # WCAG 2.x success criterion 1.4.6 (AAA)


def _channel(c8: int) -> float:
    # sRGB to linear light, as WCAG 2.x defines relative luminance.
    c = c8 / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"expected #RRGGBB, got {hex_colour!r}")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio, from 1.0 to 21.0."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


# -- size -----------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    touch_px: int
    body_pt: int
    lead_pt: int  # instructions: the one sentence that tells the patient what to do
    title_pt: int
    button_pt: int
    number_pt: int  # the queue number
    spacing_px: int
    # The top bar keeps its size in large-text mode: it holds the switches
    # and the hospital name, and growing it would only push the content off
    # the screen.
    chrome_pt: int = 22
    chrome_touch_px: int = TOUCH_TARGET_FLOOR_PX

    @property
    def photo_size(self) -> tuple[int, int]:
        # A 3:4 portrait, tall enough to recognise a face at arm's length.
        return (3 * self.touch_px, 4 * self.touch_px)


LARGE_TEXT_SCALE = 1.25


def metrics_for(logical_dpi: float, large_text: bool = False) -> Metrics:
    s = LARGE_TEXT_SCALE if large_text else 1.0
    touch = touch_target_px(logical_dpi)
    return Metrics(
        touch_px=round(touch * (1.1 if large_text else 1.0)),
        body_pt=round(22 * s),
        lead_pt=round(28 * s),
        title_pt=round(34 * s),
        button_pt=round(24 * s),
        number_pt=round(100 * s),
        spacing_px=max(16, touch // 5),
        chrome_pt=22,
        chrome_touch_px=touch,
    )


def stylesheet(m: Metrics, p: Palette = PALETTE) -> str:
    """The window's style sheet. Widgets pick a look with `role="..."`."""
    font = ", ".join(FONT_FAMILIES)
    pad_v = max(8, m.touch_px // 8)
    pad_h = max(20, m.touch_px // 3)
    pad_v_chrome = max(8, m.chrome_touch_px // 8)
    pad_h_chrome = max(20, m.chrome_touch_px // 3)
    return f"""
* {{
    font-family: {font};
    font-size: {m.body_pt}pt;
    color: {p.text};
}}
QMainWindow, QStackedWidget, QScrollArea, QScrollArea > QWidget > QWidget, QWidget[role="screen"] {{
    background: {p.background};
}}
QLabel {{ background: transparent; }}
QLabel[role="title"] {{ font-size: {m.title_pt}pt; font-weight: bold; }}
QLabel[role="lead"] {{ font-size: {m.lead_pt}pt; }}
QLabel[role="muted"] {{ color: {p.text_muted}; }}
QLabel[role="bold"] {{ font-weight: bold; }}
QLabel[role="moreBelow"] {{
    color: {p.text_muted}; background: {p.surface}; border-top: 2px solid {p.text_muted}; padding: 6px;
}}
QLabel[role="name"], QLabel[role="strong"] {{ font-size: {m.lead_pt}pt; font-weight: bold; }}
QLabel[role="field"] {{ color: {p.text_muted}; }}
QLabel[role="number"] {{
    font-size: {m.number_pt}pt; font-weight: bold; color: {p.text};
}}
QLabel[role="photo"] {{
    background: {p.surface}; border: 2px solid {p.text_muted}; border-radius: 8px;
    color: {p.text_muted};
}}
QLabel[role="preview"] {{ background: {p.background}; border: 2px solid {p.text_muted}; }}

QFrame[role="panel"] {{ background: {p.surface}; border-radius: 12px; }}
QFrame[tone="success"] {{ background: {p.success_bg}; border: 3px solid {p.success_text}; border-radius: 12px; }}
QFrame[tone="warning"] {{ background: {p.warning_bg}; border: 3px solid {p.warning_text}; border-radius: 12px; }}
QFrame[tone="danger"] {{ background: {p.danger_bg}; border: 3px solid {p.danger_text}; border-radius: 12px; }}
QFrame[tone="info"] {{ background: {p.info_bg}; border: 3px solid {p.info_text}; border-radius: 12px; }}
QFrame[tone="success"] QLabel {{ color: {p.success_text}; }}
QFrame[tone="warning"] QLabel {{ color: {p.warning_text}; }}
QFrame[tone="danger"] QLabel {{ color: {p.danger_text}; }}
QFrame[tone="info"] QLabel {{ color: {p.info_text}; }}
QFrame[tone] QLabel[role="badge"] {{ font-weight: bold; font-size: {m.lead_pt}pt; }}

QPushButton {{
    font-size: {m.button_pt}pt;
    font-weight: bold;
    min-height: {m.touch_px - 2 * pad_v - 6}px;
    min-width: {m.touch_px}px;
    padding: {pad_v}px {pad_h}px;
    border-radius: 14px;
    border: 3px solid {p.border};
    background: {p.background};
    color: {p.secondary_text};
}}
QPushButton:pressed, QPushButton:checked {{ background: {p.pressed_bg}; }}
QPushButton QLabel {{ color: {p.secondary_text}; }}
QPushButton[role="primary"] {{
    background: {p.primary}; color: {p.on_primary}; border-color: {p.primary};
}}
QPushButton[role="primary"]:pressed {{ background: {p.primary_pressed}; }}
QPushButton[role="primary"] QLabel {{ color: {p.on_primary}; }}
/* A button that cannot be pressed yet (the keypad's "Xong" before 12 digits)
   must not look pressable: panel grey, dashed edge, muted (7:1) text. */
QPushButton:disabled, QPushButton[role="primary"]:disabled {{
    background: {p.surface}; color: {p.text_muted}; border: 3px dashed {p.text_muted};
}}
QPushButton[role="tile"] {{ text-align: left; border-width: 3px; }}
QLabel[role="tileTitle"] {{ font-size: {m.button_pt}pt; font-weight: bold; }}
QLabel[role="tileDetail"] {{ font-size: {m.body_pt}pt; font-weight: normal; }}

QWidget[role="topBar"] {{ background: {p.top_bar}; }}
QWidget[role="topBar"] QLabel {{ color: {p.on_top_bar}; font-size: {m.chrome_pt}pt; }}
QWidget[role="topBar"] QLabel[role="hospital"] {{ font-weight: bold; }}
QWidget[role="topBar"] QPushButton {{
    background: {p.top_bar}; color: {p.on_top_bar}; border-color: {p.on_top_bar};
    font-size: {m.chrome_pt}pt; min-height: {m.chrome_touch_px - 2 * pad_v_chrome - 6}px;
    min-width: {m.chrome_touch_px}px; padding: {pad_v_chrome}px {pad_h_chrome}px;
}}
QWidget[role="topBar"] QPushButton:pressed, QWidget[role="topBar"] QPushButton:checked {{
    background: {p.on_top_bar}; color: {p.top_bar};
}}
QLabel[role="online"] {{ color: {p.online_text}; }}
QWidget[role="topBar"] QLabel[role="offline"] {{
    color: {p.offline_text}; background: {p.offline_bg}; border-radius: 10px;
}}

QWidget[role="countdown"] {{ background: {p.warning_bg}; border-top: 3px solid {p.warning_text}; }}
QWidget[role="countdown"] QLabel {{ color: {p.warning_text}; font-size: {m.lead_pt}pt; font-weight: bold; }}
QWidget[role="notice"] {{ background: {p.danger_bg}; border-top: 3px solid {p.danger_text}; }}
QWidget[role="notice"] QLabel {{ color: {p.danger_text}; }}

QScrollBar:vertical {{ width: {max(28, m.touch_px // 3)}px; background: {p.surface}; }}
QScrollBar::handle:vertical {{ background: {p.text_muted}; border-radius: 8px; min-height: {m.touch_px}px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0px; }}
"""
