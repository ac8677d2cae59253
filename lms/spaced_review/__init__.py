"""Spaced review of missed quiz questions: Leitner boxes, short review sessions, the count due.

Review answers are practice: they move a card between boxes and never touch a quiz grade, an
attempt or a completion. The blueprint is in views.py.
"""
