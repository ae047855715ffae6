"""The baseline: a bare Flask app that answers every POST /sms with constant TwiML.

Served by the same gunicorn settings as the bot (`gunicorn --chdir bench bare_app:app`),
it measures what Flask, gunicorn and the HTTP round trip cost on their own.
"""

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    "Thanks for visiting! 4 quick questions. Reply STOP to opt out.\n\n"
    "What is your first name?</Message></Response>"
)

app = Flask(__name__)


@app.post("/sms")
def sms() -> Response:
    """Answer any inbound message with the same TwiML."""
    return Response(TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """200, so the bench can wait for the server like it waits for the bot."""
    return Response("ok\n", mimetype="text/plain")
