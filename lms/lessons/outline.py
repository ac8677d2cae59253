"""The lesson page's course outline, assembled per request from fragments rendered once.

The outline lists every lesson of the course with the learner's done marks and the current lesson.
Rendering it item by item in Jinja was the biggest cost of a lesson page, so each item is rendered
once per course version in each of its states (not done, done, or done before a sync changed it;
current or not; locked or not, for modules with prerequisites) and a request only picks and joins
fragments. The markup itself stays in templates (lessons/_outline.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from lms.catalog.services import Outline

# What the outline says of an item the learner completed: done, or done before a sync changed it.
TODO, DONE, UPDATED = "todo", "done", "updated"


@dataclass(frozen=True)
class _Fragments:
    outline: Outline  # the (per-process, per-version) outline these fragments were made from
    module_starts: dict[tuple[int, bool], str]  # (module id, locked) -> HTML
    module_end: str
    items: dict[tuple[int, str, bool, bool], str]  # (item id, state, current, locked) -> HTML


_cache: dict[int, _Fragments] = {}


def _fragments(outline: Outline) -> _Fragments:
    cached = _cache.get(outline.course_id)
    if cached is not None and cached.outline is outline:
        return cached
    macros = current_app.jinja_env.get_template("lessons/_outline.html").module
    titles = {m.slug: m for m in outline.modules}
    # Only modules with prerequisites can be locked, and only lessons can be "updated since you read it".
    fragments = _Fragments(
        outline=outline,
        module_starts={(m.id, locked): str(macros.module_start(m, locked, [titles[s] for s in m.prerequisites
                                                                              if s in titles]))
                       for m in outline.modules for locked in ((False, True) if m.prerequisites else (False,))},
        module_end=str(macros.module_end()),
        items={(i.id, state, current, locked): str(macros.item(i, state, current, locked))
               for m in outline.modules for i in m.items
               for state in ((TODO, DONE, UPDATED) if i.kind == "lesson" else (TODO, DONE))
               for current in (False, True)
               for locked in ((False, True) if m.prerequisites and i.quiz_role != "placement" else (False,))},
    )
    _cache[outline.course_id] = fragments
    return fragments


def outline_html(outline: Outline, done_ids: set[int], current_id: int, updated_ids: set[int] = frozenset(),
                 locked_module_ids: set[int] | dict = frozenset()) -> Markup:
    fragments = _fragments(outline)
    parts = []
    for module in outline.modules:
        locked = module.id in locked_module_ids
        parts.append(fragments.module_starts[(module.id, locked)])
        parts.extend(fragments.items[(i.id, (UPDATED if i.id in updated_ids else DONE) if i.id in done_ids else TODO,
                                      i.id == current_id, locked and i.quiz_role != "placement")]
                     for i in module.items)
        parts.append(fragments.module_end)
    return Markup("".join(parts))  # noqa: S704 - fragments are rendered by autoescaping templates
