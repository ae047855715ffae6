"""Served the README's way (gunicorn with gunicorn.conf.py), slow clients stall nobody else."""

from __future__ import annotations

import socket
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from conftest import ROOT, TOKEN
from live import (
    GUNICORN,
    PUBLIC_URL,
    Sender,
    gunicorn,
    row_counts,
    server_settings,
    serving,
    start_process,
)
from storage.db import make_engine
from web.factory import where_things_are

STALLED = 4  # as many as the sync workers the README used to start
HEAD = (
    "POST /sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
)


def stall(port: int, part: str) -> socket.socket:
    """A client that sends `part` of a request and then nothing."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(part.encode())
    return client


def typical(sender: Sender, phones: list[str]) -> float:
    """The median time to an answer, in seconds: a moment of a busy machine moves it little.

    A message that gets no answer within the sender's timeout counts as that long.
    """
    times = []
    for phone in phones:
        started = time.monotonic()
        try:
            reply = sender.send(phone, "FEEDBACK")
            assert reply.status == 200 and reply.text
        except TimeoutError:
            pass
        times.append(time.monotonic() - started)
    return statistics.median(times)


def test_stalled_clients_do_not_delay_a_valid_message(database_url, surveys_dir, tmp_path):
    # Two workers: gthread parks the stalled clients in each worker's poller whatever the count.
    with gunicorn(server_settings(database_url, surveys_dir), tmp_path, workers=2) as server:
        sender = Sender(server.port, timeout=5)  # a held worker answers after 10 s, or never
        alone = typical(sender, [f"+155588803{n:02d}" for n in range(10, 15)])
        with ExitStack() as stack:
            for n in range(STALLED):  # headers and part of a body, or half the headers
                part = HEAD + "From=%2B1555" if n % 2 else HEAD[:40]
                stack.enter_context(stall(server.port, part))
            time.sleep(0.5)  # every stalled request has reached a worker
            stalled = typical(sender, [f"+155588803{n:02d}" for n in range(20, 25)])
        # SPEC 3: slow clients delay others by at most a second. What they add is measured
        # against the same messages without them, so a busy machine slows both alike.
        assert stalled - alone < 1


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (
            "a-long-enough-admin-token-for-the-studio",
            "studio is at https://bot.example.org/studio/",
        ),
        (None, "The studio (/studio/) is off: set ADMIN_TOKEN to turn it on."),
    ],
)
def test_the_bots_address_says_where_the_studio_is(make_client, token, says):
    response = make_client(ADMIN_TOKEN=token, PUBLIC_URL="https://bot.example.org").get("/")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("SMS survey bot: Twilio posts messages to https://bot.example.org/sms")
    assert says in text


@pytest.mark.sqlite_only  # answered before any SQL
def test_the_bots_address_without_public_url_names_the_address_it_was_opened_at(make_client):
    response = make_client(ADMIN_TOKEN=None, PUBLIC_URL=None).get(
        "/", base_url="http://bot.lan:8000"
    )
    text = response.get_data(as_text=True)
    assert text.startswith("SMS survey bot: Twilio posts messages to http://bot.lan:8000/sms.")


@pytest.mark.sqlite_only  # no SQL
def test_start_up_without_public_url_says_what_to_set(make_client):
    app = make_client(ADMIN_TOKEN=None, PUBLIC_URL=None).application
    assert where_things_are(app).splitlines()[0] == (
        "SMS survey bot: Twilio posts messages to /sms at this server's public address "
        "(PUBLIC_URL is not set)."
    )


# What `gunicorn app:app` imports, and the configuration it reads, in the project's folder.
PROJECT = (
    "app.py",
    "gunicorn.conf.py",
    "service.py",
    "bot",
    "outbound",
    "storage",
    "web",
    "xlsform",
)


def project_with_dotenv(tmp_path: Path, dotenv: str) -> Path:
    """A copy of the project's folder (links to its files) with a .env of its own."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT:
        (project / name).symlink_to(ROOT / name)
    (project / ".env").write_text(dotenv)
    return project


def test_gunicorn_reads_the_dotenv_beside_app_py(database_url, surveys_dir, tmp_path):
    # SPEC 6 and the README ("the environment, or a .env file next to app.py"): gunicorn
    # itself reads no .env. Here a copy of the project's folder (links to its files) holds
    # one; a variable set in the environment wins over the file's.
    project = project_with_dotenv(
        tmp_path,
        f'DATABASE_URL="{database_url}"\nTWILIO_AUTH_TOKEN={TOKEN}\n'
        f"PUBLIC_URL={PUBLIC_URL}\nSURVEYS_DIR={tmp_path / 'nowhere'}\n",
    )
    args = [GUNICORN, "-w", "1", "-b", "127.0.0.1:0", "--no-control-socket", "app:app"]
    log = tmp_path / "gunicorn.log"
    started = start_process(args, {"SURVEYS_DIR": str(surveys_dir)}, log, cwd=project)
    with serving(started, log) as server:  # without the token it would refuse to serve
        reply = Sender(server.port, timeout=30).send("+15558880303", "FEEDBACK")
    assert reply.status == 200 and reply.text.startswith("Thanks for visiting!")
    engine = make_engine(database_url)
    try:
        assert row_counts(engine)["survey_session"] == 1  # in the .env's database
    finally:
        engine.dispose()


@pytest.mark.sqlite_only  # a setting read before any worker starts
def test_gunicorn_takes_bind_and_workers_from_the_dotenv(database_url, surveys_dir, tmp_path):
    # README: "Each setting comes from the environment or from a .env file", BIND and
    # WEB_CONCURRENCY too: gunicorn.conf.py reads them before any worker starts. A BIND
    # kept in .env (127.0.0.1 behind a proxy) ignored would serve on 0.0.0.0:8000.
    project = project_with_dotenv(
        tmp_path,
        f'DATABASE_URL="{database_url}"\nTWILIO_AUTH_TOKEN={TOKEN}\n'
        "BIND=127.0.0.1:0\nWEB_CONCURRENCY=1\n",
    )
    args = [GUNICORN, "--no-control-socket", "app:app"]  # no -b, no -w: the file's
    log = tmp_path / "gunicorn.log"
    started = start_process(args, {"SURVEYS_DIR": str(surveys_dir)}, log, cwd=project)
    with serving(started, log) as server:
        assert len(server.workers()) == 1
        assert server.get("/healthz")[0] == 200
    assert "Listening at: http://127.0.0.1:" in log.read_text()
