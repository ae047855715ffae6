"""A stand-in for Twilio's Messages API on 127.0.0.1 that answers every request after a delay.

`python bench/fake_twilio.py --port N --delay 0.05` serves
`POST /2010-04-01/Accounts/<AccountSid>/Messages.json` the way Twilio does (201 and the
message as JSON) and `GET /_bench/stats`: how many messages it accepted, to how many
distinct numbers, and how many were sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from datetime import UTC, datetime

from aiohttp import web

_sids = itertools.count(1)


def _message(account: str, form, sid: str) -> dict:
    """The JSON body Twilio returns for a queued message."""
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }


def make_app(delay: float) -> web.Application:
    """The fake API, counting what it is sent."""
    stats = {"messages": 0, "in_flight": 0, "max_in_flight": 0, "numbers": set(), "repeats": 0}

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            await asyncio.sleep(delay)
        finally:
            stats["in_flight"] -= 1
        to = form.get("To", "")
        stats["repeats"] += to in stats["numbers"]
        stats["numbers"].add(to)
        stats["messages"] += 1
        sid = f"SM{next(_sids):032x}"
        body = _message(request.match_info["account"], form, sid)
        return web.json_response(body, status=201)

    async def report(_request: web.Request) -> web.Response:
        shown = {k: v for k, v in stats.items() if k != "numbers"}
        return web.json_response({**shown, "distinct_numbers": len(stats["numbers"])})

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", create)
    app.router.add_get("/_bench/stats", report)
    return app


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds before each answer")
    args = parser.parse_args()
    print(json.dumps({"listening": args.port}), flush=True)
    web.run_app(make_app(args.delay), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
