"""Questions: the canonical model, the question types' scoring, and the quiz file formats
(Markdown, Moodle GIFT, canonical JSON). Pure Python: no Flask, no database."""
