"""A media value of a program file (a perk's media, a campaign's share image and page
banner): a local image or video, or an https URL.

No network: an https media URL is checked by its extension only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from loyaltyctl.domain.media import SNIFF_BYTES, SUPPORTED, is_video, max_bytes, sniff
from loyaltyctl.domain.media import type_from_extension as media_type_from_extension
from loyaltyctl.program.checks import URL_MAX, describe, text_problem, url_problem

MB = 1024 * 1024
IMAGES = "jpeg, png, webp or gif"  # what share.image and page.banner accept

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

Media = tuple[str, str, int | None]  # absolute path or https URL, MIME type, local file size


class MediaProblem(Exception):
    """Why a media value is refused, as the sentence noted at its key."""


def read_media(value: object, *, key: str, folder: Path, kind: str, images_only: bool) -> Media:
    """One image or video (images only when asked), written at ``key`` of a ``kind``
    table; a path is relative to the file's ``folder``. Raises MediaProblem."""
    if isinstance(value, list):
        what = "image" if images_only else "image or video"
        raise MediaProblem(f"must be one {what} only, not an array.")
    if not isinstance(value, str):
        raise MediaProblem(f"must be a path or an https URL, not {describe(value)}.")
    if not value.strip():
        raise MediaProblem(f"is empty; give a path or an https URL, or leave {key} out.")
    if problem := text_problem(value, URL_MAX, multiline=False):
        raise MediaProblem(problem)  # also keeps a NUL byte away from the file system
    scheme = _SCHEME_RE.match(value)
    if scheme is not None:
        return _url(value, scheme.group(1).lower(), images_only)
    return _file((folder / value).resolve(), kind, images_only)


def _url(url: str, scheme: str, images_only: bool) -> Media:
    if scheme != "https":
        raise MediaProblem(f"must be https; {scheme}:// URLs are not accepted.")
    problem = url_problem(url, schemes=("https",))
    if problem:
        raise MediaProblem(problem)
    # offline: the URL is never fetched, so its extension is all we know of its type
    mime = media_type_from_extension(urlsplit(url).path)
    if images_only and mime is not None and is_video(mime):
        raise MediaProblem(f"must be an image ({IMAGES}), not a video.")
    if mime is None:
        endings = (
            ".jpg, .jpeg, .png, .webp or .gif"
            if images_only
            else ".jpg, .jpeg, .png, .webp, .gif, .mp4, .webm or .mov"
        )
        raise MediaProblem(
            f"the URL's path must end in {endings} so its type is known without downloading it."
        )
    return url, mime, None


def _file(path: Path, kind: str, images_only: bool) -> Media:
    if len(str(path)) > URL_MAX:
        raise MediaProblem(f"the full path is longer than {URL_MAX} characters.")
    if not path.exists():
        raise MediaProblem(f"{path} does not exist; a media path is relative to the {kind} file.")
    if not path.is_file():
        raise MediaProblem(f"{path} is not a file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise MediaProblem(f"cannot read {path}: {exc.strerror}.") from exc
    mime = sniff(head)
    if images_only and mime is not None and is_video(mime):
        raise MediaProblem(f"{path} is a video; only an image ({IMAGES}) is accepted here.")
    if mime is None:
        what = (
            f"image; its content is none of {IMAGES}"
            if images_only
            else f"image or video; its content is none of {SUPPORTED}"
        )
        raise MediaProblem(f"{path} is not a supported {what}.")
    limit = max_bytes(mime)
    if size > limit:
        what = "a video" if is_video(mime) else "an image"
        raise MediaProblem(
            f"{path} is {size / MB:.1f} MB ({size:,} bytes); {what} may be at most"
            f" {limit // MB} MB."
        )
    return str(path), mime, size
