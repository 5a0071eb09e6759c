"""The palette and sizes meet the accessibility rules the kiosk promises."""

from __future__ import annotations

import math

import pytest

from ui.theme import (
    CONTRAST_PAIRS,
    MIN_CONTRAST,
    PALETTE,
    TOUCH_TARGET_FLOOR_PX,
    contrast_ratio,
    metrics_for,
    relative_luminance,
    stylesheet,
    touch_target_px,
)


def test_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    # Symmetric, and the textbook mid-grey: #767676 on white is 4.54:1.
    assert contrast_ratio("#FFFFFF", "#767676") == pytest.approx(4.54, abs=0.01)
    assert relative_luminance("#FFFFFF") == pytest.approx(1.0)


@pytest.mark.parametrize(("what", "fg", "bg"), CONTRAST_PAIRS, ids=[p[0] for p in CONTRAST_PAIRS])
def test_every_text_colour_reaches_aaa_contrast(what: str, fg: str, bg: str) -> None:
    ratio = contrast_ratio(fg, bg)
    assert ratio >= MIN_CONTRAST, f"{what}: {fg} on {bg} is only {ratio:.2f}:1"


def test_style_sheet_uses_only_checked_colours() -> None:
    # Every colour the sheet paints with comes from the palette, so the
    # contrast test above covers what is on screen.
    import re

    palette_colours = {getattr(PALETTE, f).upper() for f in PALETTE.__dataclass_fields__}
    used = {c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}", stylesheet(metrics_for(96)))}
    assert used <= palette_colours


@pytest.mark.parametrize(
    ("dpi", "expected"),
    [(96, TOUCH_TARGET_FLOOR_PX), (72, TOUCH_TARGET_FLOOR_PX), (160, 95), (220, 130), (0, 90), (math.nan, 90)],
)
def test_touch_target_is_15_mm_with_a_floor(dpi: float, expected: int) -> None:
    assert touch_target_px(dpi) == expected
    if dpi > 0:  # NaN compares False
        assert touch_target_px(dpi) / dpi * 25.4 >= 15.0


def test_text_sizes_for_elderly_readers() -> None:
    normal, large = metrics_for(96), metrics_for(96, large_text=True)
    assert normal.body_pt >= 22
    assert normal.title_pt >= 1.4 * normal.body_pt
    assert normal.number_pt >= 4 * normal.body_pt
    assert large.body_pt > normal.body_pt and large.title_pt > normal.title_pt
    assert large.touch_px >= normal.touch_px
    # The top bar stays the same size (it would push the content away).
    assert large.chrome_pt == normal.chrome_pt
