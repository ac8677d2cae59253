"""Migration 0005 moves the old mail outbox into the job outbox, keeps every user row, and reverses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, text

from lms.migrate import downgrade, upgrade


def test_unsent_outbox_mail_becomes_mail_jobs_and_comes_back_on_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0004")
    engine = create_engine(url)
    created = datetime(2026, 12, 1, 9, 0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, name, password_hash, is_admin, password_changed_at, "
                          "created_at) VALUES (1, 'a@example.com', 'A', 'x', false, :t, :t)"), {"t": created})
        conn.execute(text("INSERT INTO courses (id, slug, title, summary, description_html, level, language, "
                          "skills, outcomes, authors, version, search_text, content_hash, synced_at) VALUES "
                          "(1, 'c', 'C', '', '', 'beginner', 'en', '[]', '[]', '[]', '1', '', 'h', :t)"),
                     {"t": created})
        conn.execute(text("INSERT INTO course_roles (user_id, course_id, role, granted_at) "
                          "VALUES (1, 1, 'grader', :t)"), {"t": created})
        for to, sent, attempts, error in [("sent@example.com", created, 1, None),
                                          ("waiting@example.com", None, 2, "timed out"),
                                          ("gaveup@example.com", None, 5, "refused")]:
            conn.execute(text("INSERT INTO outbox (to_address, subject, body, created_at, sent_at, attempts, "
                              "last_error) VALUES (:to, 'Subject', 'Body', :t, :sent, :n, :e)"),
                         {"to": to, "t": created, "sent": sent, "n": attempts, "e": error})
    engine.dispose()

    upgrade(url, "0005")
    engine = create_engine(url)
    with engine.connect() as conn:
        jobs = conn.execute(text("SELECT kind, payload, attempts, max_attempts, failed_at IS NOT NULL, last_error "
                                 "FROM jobs ORDER BY id")).all()
        roles = conn.execute(text("SELECT count(*) FROM course_roles")).scalar()
        unread = conn.execute(text("SELECT unread_notifications FROM users")).scalar()
    engine.dispose()
    assert [(kind, payload.count("waiting") + payload.count("gaveup"), n, m, failed, e)
            for kind, payload, n, m, failed, e in jobs] == [
        ("mail.send", 1, 2, 8, 0, "timed out"), ("mail.send", 1, 5, 8, 1, "refused")]
    assert roles == 1 and unread == 0  # adding the column rebuilt nothing (no cascade through users)

    downgrade(url, "0004")
    engine = create_engine(url)
    with engine.connect() as conn:
        outbox = conn.execute(text("SELECT to_address, attempts FROM outbox ORDER BY id")).all()
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(users)"))]
    engine.dispose()
    # Unsent mail goes back; the one that gave up keeps its attempts, so the old code leaves it alone too.
    assert [tuple(row) for row in outbox] == [("waiting@example.com", 2), ("gaveup@example.com", 5)]
    assert "unread_notifications" not in columns
