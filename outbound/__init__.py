"""The sending side: messages the bot starts itself through Twilio's REST API.

`client` talks to Twilio, `numbers` reads lists of numbers, `windows` says when a
number may be texted, `pace` how fast, `pipeline` prepares, sends and records
messages, `recontacts` sends re-contacts, `commands` holds `flask invite`, `flask remind`
and `flask worker`.
"""

from __future__ import annotations

from flask import Flask

from outbound.commands import invite, remind, worker


def init_app(app: Flask) -> None:
    """Register the sending commands on `app`."""
    app.cli.add_command(invite)
    app.cli.add_command(remind)
    app.cli.add_command(worker)
