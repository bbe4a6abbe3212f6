"""Attachments of incoming mail: sanitised file names, types that must not render inline."""

from __future__ import annotations

import re
import unicodedata

import attrs

__all__ = ["IncomingAttachment", "is_unsafe_inline", "sanitize_filename"]

MAX_FILENAME_CHARS = 120
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_RESERVED_CHARS = re.compile(r'[<>:"|?*]')
_UNSAFE_TYPES = frozenset(
    {
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/xhtml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "message/rfc822",  # may hold HTML a browser renders (MHTML)
        "multipart/related",
    }
)
_UNSAFE_EXTENSIONS = frozenset(
    {".htm", ".html", ".shtml", ".xht", ".xhtml", ".svg", ".svgz", ".xml", ".xsl", ".mht", ".mhtml"}
)
# What browsers sniff as HTML or SVG when the declared type is not trusted.
_MARKUP_STARTS = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<iframe",
    b"<img",
    b"<a ",
    b"<div",
    b"<style",
    b"<title",
    b"<table",
    b"<p>",
    b"<!--",
)


@attrs.frozen
class IncomingAttachment:
    """One attachment (or inline image) of an incoming message.

    ``filename`` is sanitised: a base name only, never empty. ``media_type`` is
    what the message declared and is not to be trusted; ``unsafe_inline`` is
    True when the declared type, the file name or the content itself looks like
    HTML, SVG or XML, which must only ever be served as a download
    (``Content-Disposition: attachment`` with ``X-Content-Type-Options:
    nosniff``). ``inline`` and ``content_id`` say whether the body refers to it
    (``cid:`` images). Compressed content (zip, gzip) is kept as given, never
    unpacked.
    """

    filename: str
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    inline: bool = False
    content_id: str | None = None
    unsafe_inline: bool = False

    @property
    def size(self) -> int:
        """The size of the content in bytes."""
        return len(self.content)


def sanitize_filename(name: str | None, index: int) -> str:
    """A safe file name for attachment number ``index`` (1-based) named ``name``.

    Keeps only the base name (after the last ``/`` or ``\\``), drops control
    and invisible formatting characters (such as the right-to-left override
    used to disguise ``.exe`` files), characters Windows refuses, leading dots
    and spaces, caps the length at 120 characters keeping the extension, and
    falls back to ``attachment-{index}`` when nothing usable is left. A double
    extension such as ``invoice.pdf.exe`` is kept as given, so what is shown is
    what will be saved.
    """
    fallback = f"attachment-{index}"
    if not name:
        return fallback
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
        or ch in "\t\n\r"
    )
    text = _RESERVED_CHARS.sub("_", text)
    text = " ".join(text.split())
    text = text.lstrip(". ").rstrip(". ")
    if not text:
        return fallback
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    if len(text) > MAX_FILENAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            text = f"{stem[: MAX_FILENAME_CHARS - len(ext) - 1]}.{ext}"
        else:
            text = text[:MAX_FILENAME_CHARS]
    return text


def is_unsafe_inline(media_type: str, filename: str, content: bytes) -> bool:
    """Whether a browser could render this attachment as HTML, SVG or XML."""
    if media_type in _UNSAFE_TYPES or media_type.endswith(("+xml", "/xml")):
        return True
    lowered = filename.lower()
    if any(lowered.endswith(ext) for ext in _UNSAFE_EXTENSIONS):
        return True
    head = content[:1024]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom) :]
    head = head.replace(b"\x00", b"").lstrip().lower()
    return head.startswith(_MARKUP_STARTS)
