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


class _TextParser(HTMLParser):
    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._drop_quotes = drop_quotes
        self._out: list[str] = []
        self._skip_tag: str | None = None  # the element being skipped
        self._skip_depth = 0  # how many of that element are open inside the skip
        self._pre = 0
        self._stopped = False

    def text(self) -> str:
        return "".join(self._out)

    def _starts_quote(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "blockquote":
            return True
        classes = set(values.get("class", "").lower().split())
        return bool(classes & _QUOTE_CLASSES)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag in _DROPPED:
            self._skip_tag, self._skip_depth = tag, 1
            return
        if self._drop_quotes:
            ident = next((v or "" for n, v in attrs if n.lower() == "id"), "").lower()
            if ident in _QUOTE_REST_IDS:
                self._stopped = True
                return
            if self._starts_quote(tag, attrs):
                self._skip_tag, self._skip_depth = tag, 1
                return
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self._out.append("\n")
        elif tag in _CELL:
            self._out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped or self._skip_tag is not None:
            return
        if tag in _BLOCK:
            self._out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._stopped:
            return
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            elif self._skip_tag == "head" and tag == "body":
                self._skip_tag = None
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK:
            self._out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._stopped or self._skip_tag is not None:
            return
        if self._pre:
            self._out.append(data.replace("\r\n", "\n").replace("\r", "\n"))
        else:
            self._out.append(_SPACES.sub(" ", data.replace("\r", " ").replace("\n", " ")))


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """The text a reader of ``html`` sees, without any markup.

    Block elements become line breaks, scripts, styles and the document head are
    dropped, character references are decoded. With ``drop_quotes=True`` quoted
    earlier messages and signatures marked up by common mail programs
    (``<blockquote>``, Gmail's ``gmail_quote``, Outlook's reply header) are
    dropped too.
    """
    parser = _TextParser(drop_quotes=drop_quotes)
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in parser.text().split("\n")]
    text = "\n".join(lines)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")
