"""Tiny but real images, built byte by byte (no imaging library needed): 1x1 PNG, 8x8 JPEG, 1x1 lossless WebP."""

from __future__ import annotations

import struct
import zlib


def png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit, truecolour
    pixels = zlib.compress(b"\x00" + bytes(rgb))  # filter byte + one pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    """Baseline 8x8 grey JPEG: one block whose coefficients are all zero, coded with one-symbol Huffman tables."""

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    quant = segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    one_code = bytes([1] + [0] * 15)  # a single code of length 1
    dc = segment(0xC4, b"\x00" + one_code + b"\x00")  # DC table 0: category 0
    ac = segment(0xC4, b"\x10" + one_code + b"\x00")  # AC table 0: end of block
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    data = bytes([0b00111111])  # DC "0" + EOB "0", padded with ones
    return b"\xff\xd8" + quant + frame + dc + ac + scan + data + b"\xff\xd9"


def webp() -> bytes:
    """1x1 lossless (VP8L) WebP: every channel is a one-symbol prefix code, so the pixel itself costs no bits."""
    bits: list[int] = []

    def put(value: int, count: int) -> None:
        bits.extend((value >> i) & 1 for i in range(count))

    put(0, 14)  # width - 1
    put(0, 14)  # height - 1
    put(0, 1)  # alpha not used
    put(0, 3)  # version
    put(0, 1)  # no transform
    put(0, 1)  # no colour cache
    put(0, 1)  # no meta prefix codes
    for symbol in (0x80, 0x20, 0x40, 0xFF):  # green, red, blue, alpha
        put(1, 1)  # simple code
        put(0, 1)  # one symbol
        put(1, 1)  # 8-bit symbol
        put(symbol, 8)
    put(1, 1)  # distance: simple code
    put(0, 1)  # one symbol
    put(0, 1)  # 1-bit symbol
    put(0, 1)  # symbol 0
    while len(bits) % 8:
        bits.append(0)
    body = b"\x2f" + bytes(sum(bit << i for i, bit in enumerate(bits[n : n + 8])) for n in range(0, len(bits), 8))
    padding = b"\x00" * (len(body) % 2)  # RIFF chunks are padded to even length; the size field is the real one
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body + padding
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
