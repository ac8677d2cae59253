"""`flask quizzes convert`: formats by extension, errors convert nothing, losses are reported."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["quizzes", "convert", *args])


def test_markdown_to_json_to_markdown(app, tmp_path):
    as_json = _run(app, str(FIXTURES / "every-type.md"), "--to", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["settings"] == {"attempts": 3, "pass_score": 70}  # only what the author wrote
    assert len(data["questions"]) == 11
    json_file = tmp_path / "quiz.json"
    json_file.write_text(as_json.stdout)
    back = _run(app, str(json_file), "--to", "md", "--output", str(tmp_path / "quiz.md"))
    assert back.exit_code == 0
    again = _run(app, str(tmp_path / "quiz.md"), "--to", "json")
    assert again.stdout == as_json.stdout


def test_bad_input_converts_nothing(app, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntype: quiz\ntitle: T\n---\n## Q {type=single}\n- [x] a\n- [x] b\n")
    result = _run(app, str(bad), "--to", "json", "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert "bad.md:7: error: a single-choice question with 2 correct options" in result.output
    assert "nothing was converted" in result.output
    assert not (tmp_path / "out.json").exists()
    odd = tmp_path / "quiz.txt"
    odd.write_text("x")
    assert "use a .md, .gift or .json file" in _run(app, str(odd), "--to", "md").output
    broken = tmp_path / "broken.json"
    broken.write_text("{\n  \"questions\": [\n")
    assert "line 3: invalid JSON" in _run(app, str(broken), "--to", "md").output


def test_what_the_target_cannot_express_is_reported(app, tmp_path):
    source = tmp_path / "q.json"
    source.write_text(json.dumps({"title": "T", "questions": [
        {"type": "short", "text": {"text": "<b>Q</b>", "format": "html"}, "answers": [{"text": "x"}]}]}))
    result = _run(app, str(source), "--to", "md")
    assert result.exit_code == 0
    assert "not expressible in md: question 1: html text is written as Markdown" in result.output
