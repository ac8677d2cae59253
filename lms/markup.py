"""The one path from text a person wrote to HTML a page shows: Markdown, then bleach.

Lessons are rendered at sync time and the result is stored; learner-written text (capstones, essays)
goes through the same function at save time. Nothing is rendered per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import bleach
import markdown
from bleach.html5lib_shim import Filter

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark",
    "ol", "p", "pre", "s", "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "id"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height", "loading"],
    "code": ["class"],
    "div": ["class"],
    "p": ["class"],
    "pre": ["class"],
    "span": ["class"],
    # Markdown tables write alignment as `align`; the link filter turns it into a class.
    "td": ["class", "align"],
    "th": ["class", "scope", "align"],
    "ol": ["start"],
    **{f"h{n}": ["id"] for n in range(1, 7)},
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
# Classes we emit ourselves (Pygments tokens, admonitions, table alignment); anything else is dropped.
# bleach keeps the text of a stripped element; for these two that text is code, never content.
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SAFE_CLASS = re.compile(r"^[a-zA-Z0-9_ -]{1,80}$")

MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "toc", "admonition", "codehilite", "sane_lists", "attr_list"]
MARKDOWN_CONFIG = {
    # CSS classes rather than inline styles: our Content-Security-Policy forbids inline styles.
    "codehilite": {"css_class": "highlight", "guess_lang": False, "noclasses": False},
    "toc": {"permalink": False},
    "tables": {"use_align_attribute": True},
}


class LinkError(ValueError):
    """A link or image in the text cannot be resolved; the message says what to write instead."""


# A resolver maps a URL as written (``../assets/chart.png``) to the URL served, or raises LinkError.
LinkResolver = Callable[[str, str], str]  # (url, attribute name "href" or "src") -> url


@dataclass
class Rendered:
    html: str
    link_errors: list[tuple[str, str]] = field(default_factory=list)  # (url, message)
    stripped: list[str] = field(default_factory=list)  # "tag <script>", "attribute onclick on <a>"


def render_markdown(text: str, resolve_link: LinkResolver | None = None, *, embedded: bool = False) -> Rendered:
    """Render Markdown (with raw HTML allowed) to sanitized HTML.

    ``resolve_link`` rewrites relative links and images (course assets, other lessons); failures are
    collected, not raised, so a course check can report every one of them at once.

    ``embedded=True`` is for text learners and graders write, shown inside a section of a page
    (a submission under "The submission", a grader's comment): its headings move one level down,
    below the section's own heading, and get no ``id`` (nor can one be written), because such text
    shares its page with the page's own ids and with other texts (every version of a submission):
    "## Files" must not collide with the page's files section.
    """
    extensions = [e for e in MARKDOWN_EXTENSIONS if e != "toc"] if embedded else MARKDOWN_EXTENSIONS
    md = markdown.Markdown(extensions=extensions, extension_configs=MARKDOWN_CONFIG)
    return sanitize_html(md.convert(text), resolve_link, embedded=embedded)


def sanitize_html(raw_html: str, resolve_link: LinkResolver | None = None, *, embedded: bool = False) -> Rendered:
    """Sanitize HTML someone wrote (or Markdown produced) with the allowlist; links and headings as above."""
    result = Rendered(html="", stripped=_find_disallowed(raw_html))
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_attribute_filter_without_ids if embedded else _attribute_filter,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[_link_filter(resolve_link, result.link_errors, heading_shift=1 if embedded else 0)],
    )
    result.html = cleaner.clean(_SCRIPT_OR_STYLE.sub("", raw_html))
    return result


def _attribute_filter(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return bool(_SAFE_CLASS.match(value))
    return name in ALLOWED_ATTRIBUTES.get(tag, ())


def _attribute_filter_without_ids(tag: str, name: str, value: str) -> bool:
    return name != "id" and _attribute_filter(tag, name, value)


def _link_filter(resolve_link: LinkResolver | None, errors: list, heading_shift: int = 0) -> type[Filter]:
    headings = {f"h{n}": f"h{min(max(n, 2) + heading_shift, 6)}" for n in range(1, 7)}

    class RewriteLinks(Filter):
        """Rewrites links through the resolver; table alignment becomes a class (no inline styles);
        tables and code blocks become keyboard-scrollable boxes.

        Runs after bleach's sanitizer, so it only ever sees allowed tags and attributes.
        """

        def __iter__(self):
            for token in super().__iter__():
                if token["type"] in ("StartTag", "EndTag") and token["name"] in headings:
                    # The page's title is the only <h1>; embedded text sits below its section's <h2>.
                    token["name"] = headings[token["name"]]
                if token["type"] in ("StartTag", "EmptyTag"):
                    attrs = token["data"]
                    for key in list(attrs):
                        attr = key[1]
                        if attr in ("href", "src") and resolve_link is not None:
                            url = attrs[key]
                            try:
                                attrs[key] = resolve_link(url, attr)
                            except LinkError as exc:
                                errors.append((url, str(exc)))
                    align = attrs.pop((None, "align"), None)
                    if align in ("left", "right", "center"):
                        attrs[(None, "class")] = f"align-{align}"
                    if token["name"] == "a" and _is_external(attrs.get((None, "href"), "")):
                        attrs[(None, "rel")] = "noopener noreferrer"
                    if token["name"] == "pre":
                        # Code scrolls inside its block on a phone; a keyboard must reach it too.
                        attrs[(None, "tabindex")] = "0"
                    if token["name"] == "table":
                        yield {"type": "StartTag", "name": "div", "namespace": token.get("namespace"),
                               "data": {(None, "class"): "table-scroll", (None, "tabindex"): "0"}}
                yield token
                if token["type"] == "EndTag" and token["name"] == "table":
                    yield {"type": "EndTag", "name": "div", "namespace": token.get("namespace"), "data": {}}

    return RewriteLinks


def _is_external(url: str) -> bool:
    return url.startswith(("http://", "https://"))


class _DisallowedFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self._add(f"tag <{tag}>")
            return
        for name, value in attrs:
            if name == "class" and _SAFE_CLASS.match(value or ""):
                continue
            if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
                self._add(f"attribute {name} on <{tag}>")
            elif name in ("href", "src") and value and ":" in value.split("/", 1)[0]:
                scheme = value.split(":", 1)[0].lower()
                if scheme not in ALLOWED_PROTOCOLS:
                    self._add(f"{scheme}: link on <{tag}>")

    def _add(self, what: str) -> None:
        if what not in self.found:
            self.found.append(what)


def _find_disallowed(html: str) -> list[str]:
    """What bleach will remove from this HTML, for `courses check` to warn about."""
    finder = _DisallowedFinder()
    finder.feed(html)
    return finder.found


PYGMENTS_STYLE = "default"


def pygments_css() -> str:
    """The stylesheet for highlighted code (lms/static/css/pygments.css holds its output)."""
    from pygments.formatters import HtmlFormatter  # noqa: PLC0415

    header = "/* Generated by lms.markup.pygments_css(); a test keeps this file in step with it. */\n"
    return header + HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight") + "\n"
