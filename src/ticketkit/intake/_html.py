"""HTML mail bodies turned into plain text with the standard library's html.parser.

Nothing of the markup survives: tags are dropped, scripts, styles and other
non-content elements are dropped with their content, character references are
decoded. The result is plain text: a front end must still escape it when it
puts it into a web page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Elements whose content is never text a reader saw.
_DROPPED = frozenset(
    {"script", "style", "title", "template", "noscript", "head", "xml", "object", "svg", "math"}
)
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "table", "tr", "ul",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})
# Markers of quoted earlier messages and signatures in HTML mail (Gmail, Apple
# Mail, Thunderbird, Outlook, Yahoo).
_QUOTE_CLASSES = frozenset(
    {"gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature", "yahoo_quoted"}
)
# Outlook puts the quoted message after (not inside) one of these.
_QUOTE_REST_IDS = frozenset(
    {"appendonsend", "divrplyfwdmsg", "mail-editor-reference-message-container"}
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _TooManyTags(Exception):
    pass


class _TextParser(HTMLParser):
    """Collects two texts at once: all of it, and the reply without quotes."""

    def __init__(self, *, max_tags: int | None) -> None:
        super().__init__(convert_charrefs=True)
        self._max_tags = max_tags
        self._tags = 0
        self.full: list[str] = []
        self.reply: list[str] = []
        self._drop: str | None = None  # the non-content element being skipped
        self._drop_depth = 0
        self._quote: str | None = None  # the quote element skipped in the reply
        self._quote_depth = 0
        self._stopped = False  # the rest is an Outlook-style quoted message
        self._pre = 0

    def _emit(self, text: str) -> None:
        self.full.append(text)
        if self._quote is None and not self._stopped:
            self.reply.append(text)

    def _count(self) -> None:
        self._tags += 1
        if self._max_tags is not None and self._tags > self._max_tags:
            raise _TooManyTags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count()
        if self._drop is not None:
            if tag == self._drop:
                self._drop_depth += 1
                return
            if not (self._drop == "head" and tag == "body"):
                return
            self._drop = None
        if tag in _DROPPED:
            self._drop, self._drop_depth = tag, 1
            return
        if self._quote is not None:
            if tag == self._quote:
                self._quote_depth += 1
        elif not self._stopped:
            values = {name.lower(): (value or "") for name, value in attrs}
            classes = set(values.get("class", "").lower().split())
            if values.get("id", "").lower() in _QUOTE_REST_IDS:
                self._stopped = True
            elif tag == "blockquote" or classes & _QUOTE_CLASSES:
                self._quote, self._quote_depth = tag, 1
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self._emit("\n")
        elif tag in _CELL:
            self._emit(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count()
        if self._drop is None and tag in _BLOCK:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        self._count()
        if self._drop is not None:
            if tag == self._drop:
                self._drop_depth -= 1
                if self._drop_depth == 0:
                    self._drop = None
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK:
            self._emit("\n")
        if self._quote is not None and tag == self._quote:
            self._quote_depth -= 1
            if self._quote_depth == 0:
                self._quote = None

    def handle_data(self, data: str) -> None:
        if self._drop is not None:
            return
        if self._pre:
            self._emit(data.replace("\r\n", "\n").replace("\r", "\n"))
        else:
            self._emit(_SPACES.sub(" ", data.replace("\r", " ").replace("\n", " ")))


def _tidy(parts: list[str]) -> str:
    lines = [line.strip() for line in "".join(parts).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def convert_html(html: str, *, max_tags: int | None = None) -> tuple[str, str, bool]:
    """``(text, text without quotes, truncated)`` of ``html`` in one pass.

    Conversion stops after ``max_tags`` tags (a CPU budget); ``truncated`` says
    whether it did.
    """
    parser = _TextParser(max_tags=max_tags)
    truncated = False
    try:
        parser.feed(html)
        parser.close()
    except _TooManyTags:
        truncated = True
    return _tidy(parser.full), _tidy(parser.reply), truncated


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """The text a reader of ``html`` sees, without any markup.

    Block elements become line breaks, scripts, styles and the document head are
    dropped, character references are decoded. With ``drop_quotes=True`` quoted
    earlier messages and signatures marked up by common mail programs
    (``<blockquote>``, Gmail's ``gmail_quote``, Outlook's reply header) are
    dropped too.
    """
    text, reply, _ = convert_html(html)
    return reply if drop_quotes else text
