"""The CSV export over HTTP, for holders of ADMIN_TOKEN."""

from __future__ import annotations

import hmac
from datetime import date

from flask import Blueprint, Response, abort, current_app, request, stream_with_context

from bot.model import STATUSES
from service import UnknownSurvey
from web.context import current_service

bp = Blueprint("export", __name__)
FORMATS = ("wide", "long")
TRUE = ("1", "true", "yes")


@bp.get("/surveys/<survey_id>/export.csv")
def download(survey_id: str) -> Response:
    """A survey's answers as CSV, streamed (served and retired surveys alike)."""
    require_admin()
    args = request.args
    fmt = args.get("format", "wide")
    status = args.get("status") or None
    if fmt not in FORMATS:
        abort(400, "format must be wide or long.")
    if status is not None and status not in STATUSES:
        abort(400, "status must be one of " + ", ".join(STATUSES) + ".")
    try:
        chunks = current_service().export_csv(
            survey_id,
            fmt=fmt,
            status=status,
            since=_day(args.get("since")),
            until=_day(args.get("until")),
            hash_phones=args.get("hash_phones") in TRUE,
        )
    except UnknownSurvey:
        abort(404, f"No survey {survey_id!r}.")
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{survey_id}-{fmt}.csv"'},
    )


def require_admin() -> None:
    """401 without the right bearer token; 404 when the export is disabled (no token set)."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        abort(404, "The export endpoint is disabled: ADMIN_TOKEN is not set.")
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        abort(401, "Send Authorization: Bearer <ADMIN_TOKEN>.")
    if not hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
        abort(403, "Wrong admin token.")


def _day(value: str | None) -> date | None:
    """An ISO date from the query string (400 if malformed)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"Not an ISO date (YYYY-MM-DD): {value!r}.")
