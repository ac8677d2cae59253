"""Every text of a question as safe HTML, rendered once (at sync) through lms.markup.

The result maps a path in the question to HTML: "text", "general_feedback", "choices.0.text",
"choices.0.feedback", "pairs.1.prompt", "items.2", "gaps.0.choices.1.text", "feedback_true", ...
Texts reach a page only through lms.markup (Markdown, then the allowlist).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import fields

from markupsafe import escape

from lms.markup import render_markdown, sanitize_html
from lms.questions.model import Question, RichText

# (text, format) -> safe HTML. The course loader passes one that also resolves links to course assets.
Renderer = Callable[[str, str], str]


def rich_texts(value, path: str = "") -> Iterator[tuple[str, RichText]]:
    """(path, RichText) for every text inside a question or one of its parts."""
    if isinstance(value, RichText):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            yield from rich_texts(item, f"{path}.{n}" if path else str(n))
    elif hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            yield from rich_texts(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)


def default_renderer(text: str, fmt: str) -> str:
    """Markdown through the lessons' path; HTML sanitized; Moodle's auto-format as HTML with its line
    breaks kept; plain text escaped. (No link resolution: see the course loader for that.)"""
    if fmt == "plain":
        return str(escape(text)).replace("\n", "<br>\n")
    if fmt == "moodle":
        return sanitize_html(text.replace("\n", "<br>\n")).html
    if fmt == "html":
        return sanitize_html(text).html
    return render_markdown(text).html


# Texts shown inside a label or a list item (options, prompts, items): a lone paragraph is unwrapped,
# since <p> is not allowed inside <label>.
_INLINE = re.compile(r"^(choices\.\d+\.text|pairs\.\d+\.prompt|items\.\d+|gaps\.\d+\.choices\.\d+\.text)$")
_LONE_PARAGRAPH = re.compile(r"^<p>((?:(?!</?p>).)*)</p>\s*$", re.DOTALL)


def render_question(question: Question, renderer: Renderer = default_renderer) -> dict[str, str]:
    rendered = {}
    for path, text in rich_texts(question):
        if text.text:
            html = renderer(text.text, text.format)
            if _INLINE.match(path) and (lone := _LONE_PARAGRAPH.match(html.strip())):
                html = lone.group(1)
            rendered[path] = html
    return rendered
