"""Finding the trackable links of a message and putting tracking into it.

Done once per run on the message's source (before placeholders are filled):
each trackable link is replaced by a marker, and per message the markers are
replaced by that delivery's signed /c/ URL. Never rewritten: links that are
not http(s) (mailto:, tel:, #anchors, …), anything inside <head>, and links
containing a placeholder ({{ unsubscribe_url }} above all: personalised
links stay exactly as written).
"""

import html as html_lib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

HREF_RE = re.compile(r"""(<(?:a|area)\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE | re.DOTALL)
HEAD_RE = re.compile(r"<head\b.*?</head\s*>", re.IGNORECASE | re.DOTALL)
BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)
# A bare URL in plain text; trailing punctuation belongs to the sentence, not the link.
TEXT_URL_RE = re.compile(r"""https?://[^\s<>"'\x00]+""", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
MARK = "\x00L{}\x00"
MARK_RE = re.compile(r"\x00L(\d+)\x00")


def is_trackable(url: str) -> bool:
    url = url.strip()
    return url.lower().startswith(("http://", "https://")) and "{{" not in url and "}}" not in url


def with_utm(url: str, utm: dict[str, str]) -> str:
    """The URL with UTM parameters added; its own query (and any utm_* it has) kept as is."""
    if not utm:
        return url
    # Plain string surgery: urlunsplit would normalise the rest of the address.
    base, hash_sign, fragment = url.partition("#")
    present = {name for name, _value in parse_qsl(urlsplit(base).query, keep_blank_values=True)}
    extra = urlencode([(name, value) for name, value in utm.items() if name not in present])
    if not extra:
        return url
    joiner = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
    return f"{base}{joiner}{extra}{hash_sign}{fragment}"


@dataclass
class LinkTable:
    """The run's links in order of first appearance: number n (1-based) is urls[n - 1]."""

    urls: list[str] = field(default_factory=list)
    _numbers: dict[str, int] = field(default_factory=dict)

    def number(self, url: str) -> int:
        if url not in self._numbers:
            self.urls.append(url)
            self._numbers[url] = len(self.urls)
        return self._numbers[url]


def _split_text_url(candidate: str) -> tuple[str, str]:
    """(url, trailing punctuation) — a closing bracket stays when the URL opened one."""
    url = candidate
    while url and url[-1] in TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url, candidate[len(url) :]


def mark_text(text: str, table: LinkTable, utm: dict[str, str]) -> str:
    def replace(match):
        url, tail = _split_text_url(match.group(0))
        if not is_trackable(url):
            return match.group(0)
        return MARK.format(table.number(with_utm(url, utm))) + tail

    return TEXT_URL_RE.sub(replace, text or "")


def mark_html(source: str, table: LinkTable, utm: dict[str, str]) -> str:
    head = HEAD_RE.search(source)
    skip = (head.start(), head.end()) if head else (0, 0)

    def replace(match):
        if skip[0] <= match.start() < skip[1]:
            return match.group(0)
        quoted = match.group(2) if match.group(2) is not None else match.group(3)
        url = html_lib.unescape(quoted).strip()
        if not is_trackable(url):
            return match.group(0)
        quote = '"' if match.group(2) is not None else "'"
        return f"{match.group(1)}{quote}{MARK.format(table.number(with_utm(url, utm)))}{quote}"

    return HREF_RE.sub(replace, source or "")


def add_utm_in_place(text: str, utm: dict[str, str], *, html: bool) -> str:
    """Click tracking off but UTM on: the links themselves get the parameters."""
    table = LinkTable()
    marked = mark_html(text, table, utm) if html else mark_text(text, table, utm)
    urls = [html_lib.escape(url) if html else url for url in table.urls]
    return MARK_RE.sub(lambda m: urls[int(m.group(1)) - 1], marked)


def add_pixel(source: str) -> str:
    """The open pixel marker before </body> (or at the end)."""
    pixel = (
        '<img src="\x00P\x00" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
    )
    ends = [m.start() for m in BODY_END_RE.finditer(source)]
    if not ends:
        return source + pixel
    return source[: ends[-1]] + pixel + source[ends[-1] :]


PIXEL_MARK = "\x00P\x00"
