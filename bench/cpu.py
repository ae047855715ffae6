"""CPU time per inbound message, in one process, for this tree or another checkout.

On a shared machine wall-clock rates move with the neighbours' load; the CPU
time a process spends per message moves far less. This plays the throughput
load's respondents (loadgen.SCRIPTS) straight into the WSGI app, signatures
checked, every reply checked, on a fresh SQLite file, and prints the CPU milliseconds per message.

    .venv/bin/python bench/cpu.py [--root OTHER_CHECKOUT] [--respondents 300]

Run it for two checkouts in alternation and compare the medians.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from loadgen import SCRIPTS, Numbers, twilio_form  # noqa: E402

TOKEN = "bench-token"
PUBLIC_URL = "https://bench.example.org"


def factory(root: Path):
    """The app factory of the checkout at `root`: web.factory's, or an older web's or app's."""
    sys.path.insert(0, str(root))
    module = "web" if (root / "web" / "__init__.py").exists() else "app"
    if (root / "web" / "factory.py").exists():
        module = "web.factory"
    return importlib.import_module(module).create_app


def play(create_app, respondents: int) -> tuple[float, int]:
    """(CPU seconds, messages) for `respondents` whole surveys."""
    folder = tempfile.mkdtemp()
    root = Path(sys.modules[create_app.__module__].__file__).resolve().parent
    surveys = root / "surveys" if (root / "surveys").exists() else root.parent / "surveys"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "SURVEYS_DIR": str(surveys),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_URL": PUBLIC_URL,
        }
    )
    # The schema is created (every migration run) by the first request: not a message's cost.
    call(app, EnvironBuilder(path="/healthz").get_environ())
    validator, numbers = RequestValidator(TOKEN), Numbers()
    messages, spent = 0, 0.0
    for n in range(respondents):
        phone, serial = numbers.phone()
        for step, (body, expected) in enumerate(SCRIPTS[n % len(SCRIPTS)]):
            form = twilio_form(phone, body.format(name=f"R{serial}"), numbers.sid(serial, step))
            signature = validator.compute_signature(PUBLIC_URL + "/sms", form)
            # The request is built before the clock starts: only the app's own work counts.
            environ = EnvironBuilder(
                path="/sms", method="POST", data=form, headers={"X-Twilio-Signature": signature}
            ).get_environ()
            start = time.process_time()
            status, reply = call(app, environ)
            spent += time.process_time() - start
            assert status.startswith("200") and expected.split("{")[0] in reply, reply
            messages += 1
    return spent, messages


def call(app, environ: dict) -> tuple[str, str]:
    """Run one WSGI request: its status line and body."""
    started = []
    body = b"".join(app(environ, lambda status, headers: started.append(status)))
    return started[0], body.decode()


def main() -> None:
    """Print the CPU milliseconds per message of the checkout at --root."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(BENCH.parent), help="the checkout to measure")
    parser.add_argument("--respondents", type=int, default=300)
    args = parser.parse_args()
    create_app = factory(Path(args.root).resolve())
    play(create_app, 20)  # warm up: imports, machines, caches
    spent, messages = play(create_app, args.respondents)
    print(f"{1000 * spent / messages:.3f} ms CPU per message ({messages} messages)")


if __name__ == "__main__":
    main()
