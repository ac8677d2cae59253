"""The lesson page's course outline, assembled per request from fragments rendered once.

The outline lists every lesson of the course with the learner's done marks and the current lesson.
Rendering it item by item in Jinja was the biggest cost of a lesson page, so each item is rendered
once per course version in its four states (done or not, current or not) and a request only picks
and joins fragments. The markup itself stays in templates (lessons/_outline.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from lms.catalog.services import Outline


@dataclass(frozen=True)
class _Fragments:
    outline: Outline  # the (per-process, per-version) outline these fragments were made from
    module_starts: dict[int, str]
    module_end: str
    items: dict[tuple[int, bool, bool], str]  # (item id, done, current) -> HTML


_cache: dict[int, _Fragments] = {}


def _fragments(outline: Outline) -> _Fragments:
    cached = _cache.get(outline.course_id)
    if cached is not None and cached.outline is outline:
        return cached
    macros = current_app.jinja_env.get_template("lessons/_outline.html").module
    fragments = _Fragments(
        outline=outline,
        module_starts={m.id: str(macros.module_start(m)) for m in outline.modules},
        module_end=str(macros.module_end()),
        items={(i.id, done, current): str(macros.item(i, done, current))
               for i in outline.items for done in (False, True) for current in (False, True)},
    )
    _cache[outline.course_id] = fragments
    return fragments


def outline_html(outline: Outline, done_ids: set[int], current_id: int) -> Markup:
    fragments = _fragments(outline)
    parts = []
    for module in outline.modules:
        parts.append(fragments.module_starts[module.id])
        parts.extend(fragments.items[(i.id, i.id in done_ids, i.id == current_id)] for i in module.items)
        parts.append(fragments.module_end)
    return Markup("".join(parts))  # noqa: S704 - fragments are rendered by autoescaping templates
