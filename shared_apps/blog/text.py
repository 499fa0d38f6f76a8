"""Text helpers for posts: Cyrillic-safe slugs, Markdown to safe HTML, summaries."""

import html
import re

import markdown
import nh3
from django.utils.text import Truncator, slugify

# Russian → Latin (close to the passport/ICAO scheme), so URLs stay readable ASCII.
CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
        "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
        "і": "i", "ї": "i", "є": "ie", "ґ": "g", "ў": "u",
    }
)  # fmt: skip

SLUG_MAX_LENGTH = 200
# Paths of the blog that a post must not shadow.
RESERVED_SLUGS = frozenset({"feed", "manage"})

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


def transliterate(text):
    return text.lower().translate(CYRILLIC_TO_LATIN)


def slug_base(title):
    return slugify(transliterate(title))[:SLUG_MAX_LENGTH].strip("-") or "post"


def unique_slug(title, queryset):
    """A slug made from the title, with -2, -3… when another post already has it."""
    base = slug_base(title)
    taken = set(queryset.filter(slug__startswith=base).values_list("slug", flat=True)) | RESERVED_SLUGS
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def render_markdown(source):
    """Markdown to HTML that is safe to show: scripts, styles and event handlers removed."""
    raw = markdown.markdown(source or "", extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow",
    )


BLOCK_TAG_RE = re.compile(r"</?(?:p|br|hr|h[1-6]|li|ul|ol|blockquote|pre|table|tr|td|th)\b[^>]*>", re.IGNORECASE)


def summary_of(body_html, length=160):
    # Block tags become spaces so paragraphs do not run together; inline tags just go.
    spaced = BLOCK_TAG_RE.sub(" ", body_html or "")
    text = html.unescape(re.sub(r"<[^>]+>", "", spaced))
    return Truncator(" ".join(text.split())).chars(length)
