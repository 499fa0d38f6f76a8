"""Link rewriting: what is tracked, what is never touched (property-based over random HTML and text)."""

import html as html_lib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_apps.engagement.rewrite import (
    MARK_RE,
    PIXEL_MARK,
    LinkTable,
    add_pixel,
    add_utm_in_place,
    mark_html,
    mark_text,
    with_utm,
)

UNSUBSCRIBE = "{{ unsubscribe_url }}"
word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгд0123456789 .,!-", min_size=0, max_size=12)
path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-_", max_size=10)
query = st.lists(st.tuples(st.sampled_from("abcxyz"), st.text(alphabet="0123456789ab", max_size=4)), max_size=3)


@st.composite
def web_url(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.sampled_from(["example.com", "shop.example.org", "пример.рф"]))
    url = f"{scheme}://{host}/{draw(path)}"
    pairs = draw(query)
    if pairs:
        url += "?" + "&".join(f"{k}={v}" for k, v in pairs)
    if draw(st.booleans()):
        url += "#" + draw(st.sampled_from(["top", "x1"]))
    return url


untouchable = st.sampled_from(
    [
        UNSUBSCRIBE,
        "{{unsubscribe_url}}",
        "mailto:info@example.com?subject=Hi",
        "tel:+79991234567",
        "#section-2",
        "https://example.com/?e={{ email }}",
        "/relative/page",
        "ftp://example.com/file",
    ]
)


@st.composite
def html_document(draw):
    """Random HTML with tracked links, untouchable links, links in <head>, and text around them."""
    parts, tracked, kept = [], [], []
    if draw(st.booleans()):
        head_url = draw(web_url())
        kept.append(head_url)
        parts.append(f'<html><head><link rel="stylesheet" href="{head_url}"><a href="{head_url}">x</a></head><body>')
    for _ in range(draw(st.integers(0, 8))):
        parts.append(html_lib.escape(draw(word)))
        if draw(st.booleans()):
            url = draw(web_url())
            tracked.append(url)
            quote = draw(st.sampled_from(['"', "'"]))
            attrs = draw(st.sampled_from(["", ' class="btn"', ' target="_blank" style="color:red"']))
            parts.append(f"<a{attrs} href={quote}{html_lib.escape(url)}{quote}>{html_lib.escape(draw(word))}</a>")
        else:
            url = draw(untouchable)
            kept.append(url)
            parts.append(f'<a href="{url}">{html_lib.escape(draw(word))}</a>')
    if parts and parts[0].startswith("<html>"):
        parts.append("</body></html>")
    return "".join(parts), tracked, kept


def restore(marked, table, *, html):
    """Put each link's original address back where its marker is."""
    urls = [html_lib.escape(u) if html else u for u in table.urls]
    return MARK_RE.sub(lambda m: urls[int(m.group(1)) - 1], marked)


@settings(max_examples=300, deadline=None)
@given(html_document())
def test_html_rewriting_changes_only_tracked_links_and_keeps_everything_else(doc):
    source, tracked, kept = doc
    table = LinkTable()
    marked = mark_html(source, table, {})
    # Every tracked address is in the table, and nothing else is.
    assert set(table.urls) == set(tracked)
    # Untouchable links (unsubscribe placeholder, mailto:, tel:, #anchor, head links, personalised) are intact.
    for url in kept:
        assert url in marked
    # Putting the originals back gives the document exactly: nothing else moved.
    assert restore(marked, table, html=True) == source


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(word, web_url(), untouchable), max_size=10))
def test_text_rewriting_keeps_unsubscribe_link_and_punctuation(pieces):
    text = " ".join(pieces) + ". Отписаться: " + UNSUBSCRIBE
    table = LinkTable()
    marked = mark_text(text, table, {})
    assert marked.endswith(UNSUBSCRIBE)
    assert restore(marked, table, html=False) == text
    for url in table.urls:
        assert url.lower().startswith(("http://", "https://")) and "{{" not in url


def test_links_inside_head_are_never_rewritten():
    source = '<html><head><base href="https://a.example/"></head><body><a href="https://b.example/">b</a></body></html>'
    table = LinkTable()
    marked = mark_html(source, table, {})
    assert table.urls == ["https://b.example/"]
    assert 'href="https://a.example/"' in marked


def test_entities_in_href_are_unescaped_in_the_link_table():
    table = LinkTable()
    mark_html('<a href="https://e.com/?a=1&amp;b=2">x</a>', table, {})
    assert table.urls == ["https://e.com/?a=1&b=2"]


@given(web_url())
def test_utm_parameters_keep_the_existing_query_and_fragment(url):
    tagged = with_utm(url, {"utm_source": "rassylka", "utm_campaign": "spring"})
    base, _, fragment = url.partition("#")
    tagged_base, _, tagged_fragment = tagged.partition("#")
    assert tagged_fragment == fragment
    assert tagged_base.startswith(base)
    assert tagged_base.endswith("utm_source=rassylka&utm_campaign=spring")
    assert ("?" in base) == ("&utm_source" in tagged_base)


def test_utm_parameters_already_in_a_link_are_not_overridden():
    assert with_utm("https://e.com/?utm_source=news", {"utm_source": "rassylka", "utm_campaign": "c"}) == (
        "https://e.com/?utm_source=news&utm_campaign=c"
    )


def test_utm_without_click_tracking_tags_links_in_place():
    html = '<a href="https://e.com/p?x=1">p</a> <a href="mailto:a@b.c">m</a>'
    tagged = add_utm_in_place(html, {"utm_source": "rassylka"}, html=True)
    assert tagged == '<a href="https://e.com/p?x=1&amp;utm_source=rassylka">p</a> <a href="mailto:a@b.c">m</a>'


def test_pixel_goes_before_the_closing_body_tag_or_at_the_end():
    assert re.search(rf"{PIXEL_MARK}[^<]*>\s*</body>", add_pixel("<html><body><p>x</p></body></html>"))
    assert add_pixel("<p>x</p>").startswith("<p>x</p><img")
