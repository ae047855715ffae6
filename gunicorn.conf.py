"""gunicorn's production settings: read by `gunicorn app:app` started in this folder.

Twilio gives a webhook 15 seconds in all. With sync workers, four clients that
send their headers and then nothing held all four workers and every other
message waited for them. Threaded workers (gthread) park a connection that
sends nothing in the worker's poller, and one that stalls in its body holds
one thread of many, not a worker: the others keep answering. Command-line
options (`-w`, `-b`, `--threads`) override these; see docs/serving.md.
"""

import os
import sys
from pathlib import Path

from dotenv import load_dotenv

from web.factory import refusal_before_workers

# The .env beside app.py, as the app reads it: BIND and WEB_CONCURRENCY may be kept
# there too (the environment wins over the file).
load_dotenv(Path(__file__).with_name(".env"))

wsgi_app = "app:app"
bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gthread"
# Processes: WEB_CONCURRENCY, as platforms set it, else 4.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Threads per process: each stalled client can hold one, so keep plenty.
threads = 16
# A worker that stops answering its master is replaced well before Twilio gives up.
timeout = 10
graceful_timeout = 10
keepalive = 5  # Twilio reuses connections; an idle one costs no thread under gthread


def on_starting(server) -> None:
    """Refuse to serve before any worker starts: one line, exit 1 (SPEC 3, 4 and 9).

    What each worker would refuse (no TWILIO_AUTH_TOKEN, a short ADMIN_TOKEN, a
    setting that means nothing, a database that does not open or is behind its
    schema) is said once here instead of once per worker. Workers that run as
    another user (`user`) check the database themselves: a SQLite file the master
    made would be the master's.
    """
    refusal = refusal_before_workers(check_database=server.cfg.uid == os.geteuid())
    if refusal:
        print(refusal, file=sys.stderr)
        raise SystemExit(1)
