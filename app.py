"""The entry point: `gunicorn app:app` serves it, `flask --app app ...` runs the commands."""

from web import serving_app

app = serving_app()
