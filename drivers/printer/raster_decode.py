"""Read ESC/POS bytes back into the raster images they would print.

Used by tests (and handy when a `.bin` from the simulated printer needs a
look): it walks the command stream rather than searching for the GS v 0
prefix, because the same three bytes can occur inside image data.

Only the commands this project emits, and the ones a printer-side capture
may contain, are understood; anything else raises `ValueError` so that a
change in the bytes we send is noticed, not skipped over.
"""

from __future__ import annotations

from PIL import Image

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A


def decode_escpos_raster(data: bytes) -> list[Image.Image]:
    """Every GS v 0 raster image in `data`, in order, as 1-bit images.

    A printed dot (bit 1 in ESC/POS) is black (0) in the returned image, the
    same convention as the rasterizer's output. The density byte m (double
    width/height) is not applied; it is kept in `image.info["gs_v0_m"]`.
    """
    images: list[Image.Image] = []
    i, n = 0, len(data)

    def need(count: int) -> None:
        if i + count > n:
            raise ValueError(f"command at offset {i} truncated: needs {count} bytes, {n - i} left")

    while i < n:
        b = data[i]
        if b == LF:
            i += 1
        elif b == ESC:
            need(2)
            op = data[i + 1]
            if op == 0x40:  # ESC @ initialise
                i += 2
            elif op in (0x64, 0x4A, 0x61, 0x33, 0x21, 0x45, 0x74):  # ESC d/J/a/3/!/E/t n
                need(3)
                i += 3
            elif op == 0x32:  # ESC 2 default line spacing
                i += 2
            else:
                raise ValueError(f"unsupported command ESC {op:#04x} at offset {i}")
        elif b == GS:
            need(2)
            op = data[i + 1]
            if op == 0x56:  # GS V m [n] cut
                need(3)
                m = data[i + 2]
                i += 4 if m in (65, 66, 97, 98, 103, 104) else 3
                if i > n:
                    raise ValueError(f"GS V at offset {i - 4} truncated")
            elif op == 0x76:  # GS v 0 m xL xH yL yH d1...dk
                need(8)
                if data[i + 2] != 0x30:
                    raise ValueError(f"unsupported GS v {data[i + 2]:#04x} at offset {i}")
                m = data[i + 3]
                width_bytes = data[i + 4] | data[i + 5] << 8
                height = data[i + 6] | data[i + 7] << 8
                size = width_bytes * height
                start = i + 8
                if start + size > n:
                    raise ValueError(f"GS v 0 at offset {i} announces {size} bytes, {n - start} left")
                # Raw mode "1;I": set bits are black, which is ESC/POS's "print a dot".
                image = Image.frombytes("1", (width_bytes * 8, height), data[start : start + size], "raw", "1;I")
                image.info["gs_v0_m"] = m
                images.append(image)
                i = start + size
            else:
                raise ValueError(f"unsupported command GS {op:#04x} at offset {i}")
        elif b == DLE:  # DLE EOT n: a real-time status request, nothing printed
            need(3)
            if data[i + 1] != 0x04:
                raise ValueError(f"unsupported command DLE {data[i + 1]:#04x} at offset {i}")
            i += 3
        else:
            raise ValueError(f"unexpected byte {b:#04x} at offset {i}")
    return images


def stack_vertically(images: list[Image.Image]) -> Image.Image:
    """Join raster blocks printed one after another back into one image."""
    if not images:
        raise ValueError("no images to stack")
    width = images[0].width
    if any(im.width != width for im in images):
        raise ValueError(f"raster blocks differ in width: {[im.width for im in images]}")
    out = Image.new("1", (width, sum(im.height for im in images)), 1)
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height
    return out
