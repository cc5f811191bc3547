"""GIF89a blocks for a file written frame by frame: header, loop, frame delays, image blocks."""

from __future__ import annotations

import io
import math
import struct
from fractions import Fraction

import numpy as np
from PIL import Image

from giffusion_nb.frame_rate import frame_rate

# Browsers play a delay under 2 cs as 10 cs, so a GIF cannot go faster than 50 frames/s.
GIF_MAX_FPS = 50
TRAILER = b";"
_DISPOSAL_KEEP = 1  # each frame stays under the next, which draws over it


def frame_end_cs(fps: float | Fraction, frames: int) -> int:
    """When frame ``frames - 1`` ends, in hundredths of a second (rounded half up), computed
    exactly from the rate ``fps`` stands for (29.97 is 30000/1001)."""
    return math.floor(Fraction(100 * frames) / frame_rate(fps) + Fraction(1, 2))


def frame_delay_cs(fps: float | Fraction, index: int) -> int:
    """Frame ``index``'s delay in hundredths of a second: delays differ by at most 1 cs so
    that frame k ends at ``round(100 * (k + 1) / fps)`` (8, 9, 8, 8, 9, … at 12 fps) and the
    GIF keeps the true length."""
    return frame_end_cs(fps, index + 1) - frame_end_cs(fps, index)


def file_header(width: int, height: int) -> bytes:
    """Signature, screen size (no global colour table: every frame has its own) and the
    Netscape extension that loops forever (count 0)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x70, 0, 0)
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00"
    return screen + loop


def image_block(
    indices: np.ndarray,
    palette: np.ndarray,
    offset: tuple[int, int],
    delay_cs: int,
    transparent: int | None = None,
) -> bytes:
    """One frame: graphic control extension (delay, disposal, transparent index), image
    descriptor at ``offset``, local colour table and the LZW-compressed ``indices``
    ((h, w) uint8 into ``palette``, (n, 3) uint8; ``transparent`` may be index n)."""
    height, width = indices.shape
    entries = len(palette) + (transparent is not None)
    bits = max(1, math.ceil(math.log2(entries)))
    table = np.zeros((1 << bits, 3), dtype=np.uint8)
    table[: len(palette)] = palette
    flags = (_DISPOSAL_KEEP << 2) | (transparent is not None)
    control = b"\x21\xf9\x04" + struct.pack("<BHBB", flags, delay_cs, transparent or 0, 0)
    descriptor = b"\x2c" + struct.pack("<HHHHB", *offset, width, height, 0x80 | (bits - 1))
    return control + descriptor + table.tobytes() + lzw_data(indices)


def lzw_data(indices: np.ndarray) -> bytes:
    """The LZW minimum code size and data sub-blocks of ``indices``, as Pillow's GIF encoder
    compresses them (taken from a one-frame GIF it writes in memory)."""
    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="GIF", interlace=False, optimize=False)
    return _image_data(buffer.getvalue())


def _image_data(gif: bytes) -> bytes:
    """The image data (code size byte to block terminator) of a GIF's first frame."""
    position = 13 + _table_bytes(gif[10])
    while gif[position] == 0x21:  # an extension: introducer, label, sub-blocks
        position = _after_sub_blocks(gif, position + 2)
    if gif[position] != 0x2C:
        raise ValueError("no image descriptor in the GIF Pillow wrote")
    start = position + 10 + _table_bytes(gif[position + 9])
    return gif[start : _after_sub_blocks(gif, start + 1)]


def _table_bytes(flags: int) -> int:
    """Size of the colour table that a screen or image descriptor's flags announce."""
    return 3 * (2 << (flags & 7)) if flags & 0x80 else 0


def _after_sub_blocks(data: bytes, position: int) -> int:
    while data[position]:
        position += data[position] + 1
    return position + 1
