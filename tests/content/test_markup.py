"""The one Markdown -> sanitized HTML path."""

from pathlib import Path

from lms.markup import pygments_css, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_markdown_features():
    html = render_markdown(
        "# Title\n\n## Section\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n"
        '!!! tip "Try it"\n    Do this.\n'
    ).html
    assert '<h2 id="title">Title</h2>' in html  # the page title is the only <h1>
    assert '<h2 id="section">Section</h2>' in html
    assert '<td class="align-right">2</td>' in html
    assert '<div class="table-scroll" tabindex="0"><table>' in html and "</table></div>" in html
    assert '<div class="highlight"><pre tabindex="0">' in html and '<span class="n">x</span>' in html
    assert '<div class="admonition tip">' in html
    assert "style=" not in html


def test_sanitizer_removes_scripts_handlers_and_bad_schemes():
    result = render_markdown('<script>alert(1)</script><a href="javascript:alert(2)" onclick="x">l</a>'
                             '<iframe src="https://evil"></iframe><img src="x" onerror="y">')
    assert "alert" not in result.html and "onclick" not in result.html and "iframe" not in result.html
    assert "onerror" not in result.html and "javascript" not in result.html
    assert "tag <script>" in result.stripped and "tag <iframe>" in result.stripped


def test_text_people_write_gets_no_heading_ids_to_collide_with_the_page():
    text = '## Files\n\n### Results {#status}\n\n<h2 id="draft">Raw</h2>\n\n<a id="x" href="#files">up</a>'
    lesson = render_markdown(text).html
    assert 'id="files"' in lesson and 'id="status"' in lesson  # lessons keep their anchors
    written = render_markdown(text, embedded=True).html
    assert " id=" not in written, written
    # ...and their headings sit one level below the section that shows them.
    assert "<h3>Files</h3>" in written and "<h4>Results</h4>" in written and "<h3>Raw</h3>" in written
    assert "<h3>Top</h3>" in render_markdown("# Top", embedded=True).html
    assert "<h6>Deep</h6>" in render_markdown("###### Deep", embedded=True).html
    assert '<h2 id="top">Top</h2>' in render_markdown("# Top").html


def test_external_links_get_noopener():
    html = render_markdown("[site](https://example.org)").html
    assert 'rel="noopener noreferrer"' in html


def test_pygments_stylesheet_is_in_step():
    assert (ROOT / "lms/static/css/pygments.css").read_text() == pygments_css()


def test_every_course_file_key_is_documented():
    from lms.content.fields import CAPSTONE_FIELD_TABLES, COURSE_FIELDS, LESSON_FIELDS, MODULE_FIELDS, QUIZ_FIELDS

    doc = (ROOT / "docs/course-format.md").read_text()
    for field in (*COURSE_FIELDS, *MODULE_FIELDS, *LESSON_FIELDS, *QUIZ_FIELDS):
        assert f"| `{field.name}` |" in doc, f"docs/course-format.md does not document `{field.name}`"
    capstone = doc[doc.index("## The capstone"):doc.index("## Checking and syncing")]
    for fields in CAPSTONE_FIELD_TABLES:
        for field in fields:
            assert f"| `{field.name}` |" in capstone, f"the capstone section does not document `{field.name}`"
    from lms.content.fields import CREDENTIAL_FIELDS, CREDENTIAL_REQUIRES_FIELDS, CREDENTIAL_SKILL_FIELDS

    credential = doc[doc.index("## The credential"):doc.index("## Checking and syncing")]
    for field in (*CREDENTIAL_FIELDS, *CREDENTIAL_SKILL_FIELDS, *CREDENTIAL_REQUIRES_FIELDS):
        assert f"| `{field.name}` |" in credential, f"the credential section does not document `{field.name}`"
