"""The baseline: a bare Flask hello-world, served by `make bench` with the same gunicorn flags as Skillmark."""
from flask import Flask

app = Flask(__name__)
app.add_url_rule("/", "hello", lambda: "Hello, World!")
