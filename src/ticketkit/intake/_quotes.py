"""Trimming quoted earlier messages and signatures from the text of a reply."""

from __future__ import annotations

import re

__all__ = ["trim_reply"]

# "On Mon, 5 Jan 2026 at 10:00, Ann <ann@example.com> wrote:" and its
# translations; clients often wrap it over two lines.
_ATTRIBUTION = re.compile(
    r"^(on|am|le|el|il|op|em|den)\s.*"
    r"(wrote|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev)\b[^:]{0,120}:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(on|am|le|el|il|op|em|den)\s", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de|van|da)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|verzonden|inviato|to|an|para|aan)\s*:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré)\s*-{2,}"
    r"|begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{20,}\s*$")
_MOBILE = re.compile(
    r"^\s*(sent from my \w[\w ]*|get outlook for (ios|android)|von meinem \w+ gesendet)\s*$",
    re.IGNORECASE,
)


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _ORIGINAL.match(line):
        return True
    if _ATTRIBUTION.match(line.strip()):
        return True
    if _ATTRIBUTION_START.match(line.strip()) and i + 1 < len(lines):
        joined = f"{line.strip()} {lines[i + 1].strip()}"
        if _ATTRIBUTION.match(joined):
            return True
    if _RULE.match(line) and i + 1 < len(lines) and _OUTLOOK_FROM.match(lines[i + 1]):
        return True
    if _OUTLOOK_FROM.match(line):
        following = lines[i + 1 : i + 4]
        return any(_OUTLOOK_NEXT.match(nxt) for nxt in following)
    return False


def _quoted(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def trim_reply(text: str) -> str:
    """The new part of a reply: ``text`` without quoted earlier text and signatures.

    Stops at an attribution line ("On ... wrote:"), an "-----Original
    Message-----" separator, an Outlook "From: ... Sent: ..." header block, the
    "-- " signature separator or a mobile "Sent from my ..." line; drops every
    line starting with ">". A forwarded message ("---------- Forwarded message
    ----------") is kept: it is what the sender hands over.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _FORWARDED.match(line):
            kept.extend(rest.rstrip() for rest in lines[i:])
            break
        if line.rstrip() == "--" or _MOBILE.match(line) or _starts_quote(lines, i):
            break
        if _quoted(line):
            continue
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)
