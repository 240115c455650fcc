"""Media types of perk images and videos: from a file's first bytes or a URL's extension.

Pure: no I/O. The caller reads the first `SNIFF_BYTES` of a local file; a URL is
never fetched (`apply` works offline), so its extension is all we know of it.
"""

from __future__ import annotations

import posixpath

from loyaltyctl.domain.perks import IMAGE_MAX_BYTES, IMAGE_TYPES, VIDEO_MAX_BYTES, VIDEO_TYPES

SNIFF_BYTES = 64  # enough for every signature below (WebM's doctype sits within 64 bytes)

# QuickTime files written without an `ftyp` atom start straight with one of these
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip")

_EXTENSIONS = {
    ".jpg": IMAGE_TYPES["jpeg"],
    ".jpeg": IMAGE_TYPES["jpeg"],
    ".png": IMAGE_TYPES["png"],
    ".webp": IMAGE_TYPES["webp"],
    ".gif": IMAGE_TYPES["gif"],
    ".mp4": VIDEO_TYPES["mp4"],
    ".webm": VIDEO_TYPES["webm"],
    ".mov": VIDEO_TYPES["mov"],
}
SUPPORTED = "jpeg, png, webp, gif, mp4, webm or mov"


def sniff(head: bytes) -> str | None:
    """The MIME type of a supported image or video from its first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return IMAGE_TYPES["jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return IMAGE_TYPES["png"]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return IMAGE_TYPES["gif"]
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return IMAGE_TYPES["webp"]
    if head[4:8] == b"ftyp":
        # the major brand tells ISO MP4 from Apple QuickTime, which share the box layout
        return VIDEO_TYPES["mov"] if head[8:12] == b"qt  " else VIDEO_TYPES["mp4"]
    if head[4:8] in _QUICKTIME_ATOMS:
        return VIDEO_TYPES["mov"]
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:SNIFF_BYTES]:
        # EBML is also Matroska (.mkv); only the "webm" doctype is accepted
        return VIDEO_TYPES["webm"]
    return None


def type_from_extension(url_path: str) -> str | None:
    """The MIME type a URL's path promises by its extension (case-insensitive), or None."""
    extension = posixpath.splitext(url_path)[1].lower()
    return _EXTENSIONS.get(extension)


def is_video(mime: str) -> bool:
    return mime in VIDEO_TYPES.values()


def max_bytes(mime: str) -> int:
    """The largest file allowed for this type: images 5 MB, videos 10 MB."""
    if is_video(mime):
        return VIDEO_MAX_BYTES
    if mime in IMAGE_TYPES.values():
        return IMAGE_MAX_BYTES
    raise ValueError(f"not a supported media type: {mime}")
