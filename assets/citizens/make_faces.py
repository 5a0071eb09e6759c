"""Draw the sample citizens' face images: face-1.jpg .. face-4.jpg.

Simple, neutral, illustrated head-and-shoulders avatars, drawn with Pillow
shapes only: they depict nobody. 240x320 (the 3:4 portrait of an ID photo),
light background, JPEG, so the simulated chip's DG2 has a realistic size.

Run from anywhere:  python assets/citizens/make_faces.py
The output is deterministic for a given Pillow version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 240, 320
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Avatar:
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    background: tuple[int, int, int]
    long_hair: bool
    hair_bun: bool = False
    grey_temples: bool = False


AVATARS = {
    # slot -> avatar, loosely following each sample citizen (age, sex)
    1: Avatar(skin=(224, 184, 150), hair=(200, 200, 200), shirt=(70, 90, 120), background=(214, 226, 238),
              long_hair=False, grey_temples=True),
    2: Avatar(skin=(236, 198, 166), hair=(40, 30, 28), shirt=(200, 110, 120), background=(222, 232, 242),
              long_hair=True),
    3: Avatar(skin=(214, 170, 134), hair=(25, 22, 22), shirt=(240, 240, 240), background=(210, 224, 236),
              long_hair=False),
    4: Avatar(skin=(228, 188, 152), hair=(55, 40, 34), shirt=(90, 130, 100), background=(218, 228, 240),
              long_hair=False, hair_bun=True),
}  # fmt: skip


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = colour
    return (int(r * factor), int(g * factor), int(b * factor))


def draw(avatar: Avatar) -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), avatar.background)
    d = ImageDraw.Draw(img)
    cx = WIDTH // 2

    # Long hair falls behind the shoulders: draw it first.
    if avatar.long_hair:
        d.rounded_rectangle((cx - 78, 70, cx + 78, 250), radius=60, fill=avatar.hair)

    # Shoulders and shirt, neck.
    d.ellipse((cx - 120, 236, cx + 120, 400), fill=avatar.shirt)
    d.rectangle((cx - 22, 190, cx + 22, 250), fill=_shade(avatar.skin, 0.92))
    d.polygon([(cx - 22, 238), (cx, 262), (cx + 22, 238)], fill=_shade(avatar.skin, 0.92))

    # Ears, head.
    d.ellipse((cx - 72, 128, cx - 52, 166), fill=_shade(avatar.skin, 0.95))
    d.ellipse((cx + 52, 128, cx + 72, 166), fill=_shade(avatar.skin, 0.95))
    d.ellipse((cx - 62, 70, cx + 62, 222), fill=avatar.skin)

    # Hair on top of the head.
    d.chord((cx - 66, 58, cx + 66, 160), start=180, end=360, fill=avatar.hair)
    d.rectangle((cx - 64, 104, cx - 54, 140), fill=avatar.hair)
    d.rectangle((cx + 54, 104, cx + 64, 140), fill=avatar.hair)
    if avatar.hair_bun:
        d.ellipse((cx - 26, 40, cx + 26, 84), fill=avatar.hair)
    if avatar.grey_temples:
        d.rectangle((cx - 64, 120, cx - 56, 140), fill=_shade(avatar.hair, 0.9))
        d.rectangle((cx + 56, 120, cx + 64, 140), fill=_shade(avatar.hair, 0.9))

    # Face: brows, eyes, nose, mouth: neutral expression (as ID photos are).
    brow = _shade(avatar.hair if not avatar.grey_temples else (90, 90, 90), 0.9)
    d.line((cx - 40, 126, cx - 16, 126), fill=brow, width=4)
    d.line((cx + 16, 126, cx + 40, 126), fill=brow, width=4)
    for ex in (cx - 28, cx + 28):
        d.ellipse((ex - 9, 138, ex + 9, 150), fill=(250, 250, 250))
        d.ellipse((ex - 4, 139, ex + 4, 149), fill=(45, 35, 30))
    d.line((cx, 150, cx - 5, 176, cx + 4, 178), fill=_shade(avatar.skin, 0.75), width=3)
    d.line((cx - 18, 196, cx + 18, 196), fill=(150, 80, 75), width=4)

    return img


def main() -> None:
    for slot, avatar in AVATARS.items():
        path = HERE / f"face-{slot}.jpg"
        draw(avatar).save(path, format="JPEG", quality=85)
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
