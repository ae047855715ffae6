"""The entry point: `gunicorn app:app` serves it, `flask --app app ...` runs the commands.

`flask export` of a long CSV gets a lean app with that command alone (web/lean.py):
the whole one costs more to start than such an export takes to write.
"""

from web import lean

app = lean.export_app()
if app is None:
    from web.factory import serving_app

    app = serving_app()
