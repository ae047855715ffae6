"""The CSV export over HTTP, for holders of ADMIN_TOKEN or a studio session."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, abort, request, stream_with_context

from bot.model import STATUSES
from service import UnknownSurvey
from web.access import require_admin
from web.context import current_service

bp = Blueprint("export", __name__)
FORMATS = ("wide", "long")
TRUE = ("1", "true", "yes")
MULTI = ("", "columns")  # multi=columns: one column per choice of a multi question
FILTERS = ("version", "language", "arm", "status", "since", "until")  # the studio has them all
# The research exports (SPEC 13) by file extension: (format, media type).
RESEARCH = {
    "sav": ("spss", "application/x-spss-sav"),
    "dta": ("stata", "application/x-stata-dta"),
    "zip": ("floip", "application/zip"),
    "md": ("codebook", "text/markdown"),  # Flask adds `; charset=utf-8` to a text/ type
}
CHUNK = 1 << 16


@bp.get("/surveys/<survey_id>/export.csv")
def download(survey_id: str) -> Response:
    """A survey's answers as CSV, streamed (served and retired surveys alike)."""
    require_admin()
    args = request.args
    fmt = args.get("format", "wide")
    if fmt not in FORMATS:
        abort(400, "format must be wide or long.")
    multi = args.get("multi", "")
    if multi not in MULTI:
        abort(400, "multi must be columns (one 1/0 column per choice) or left out.")
    if multi == "columns" and fmt != "wide":
        abort(400, "multi=columns needs the wide format (long has one row per answer).")
    try:
        chunks = current_service().export_csv(
            survey_id,
            fmt=fmt,
            hash_phones=args.get("hash_phones") in TRUE,
            labels=args.get("labels") in TRUE,
            multi_columns=multi == "columns",
            include_tests=args.get("include_tests") in TRUE,
            **filters(args, ("arm", "status", "since", "until")),
        )
    except UnknownSurvey:
        abort(404, f"No survey {survey_id!r}.")
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{survey_id}-{fmt}.csv"',
            "Cache-Control": "no-store",  # answers: never kept by a browser or a proxy
        },
    )


@bp.get("/surveys/<survey_id>/export.<extension>")
def research(survey_id: str, extension: str) -> Response:
    """SPSS, Stata, a Flow Results package or the codebook, with the CSV export's filters.

    The file is written to a temporary folder first (the formats need their
    whole content before the first byte), then sent and removed.
    """
    require_admin()
    if extension not in RESEARCH:
        abort(404, "Exports: .csv, .sav (SPSS), .dta (Stata), .zip (Flow Results), .md.")
    fmt, mimetype = RESEARCH[extension]
    args = request.args
    if args.get("labels") in TRUE:  # as `flask export --format spss --labels` is refused
        abort(400, f"labels=1 is for the CSV: the .{extension} export has value labels.")
    folder = Path(tempfile.mkdtemp(prefix="export-"))
    target = folder / f"{survey_id}.{extension}"
    try:
        current_service().export_research(
            survey_id,
            target,
            fmt=fmt,
            hash_phones=args.get("hash_phones") in TRUE,
            include_tests=args.get("include_tests") in TRUE,
            **filters(args, ("arm", "status", "since", "until")),
        )
    except UnknownSurvey:
        shutil.rmtree(folder)
        abort(404, f"No survey {survey_id!r}.")
    except BaseException:
        shutil.rmtree(folder)
        raise
    response = Response(
        _sent(target),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{target.name}"'},
    )
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response


def _sent(path: Path):
    """A file's bytes a chunk at a time (its folder goes when the response closes)."""
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            yield chunk


def filters(args, names=FILTERS) -> dict:
    """Session filters from a query string, checked: a bad value is a 400 that says why."""
    found = {name: args.get(name) or None for name in names}
    if found.get("status") is not None and found["status"] not in STATUSES:
        abort(400, "status must be one of " + ", ".join(STATUSES) + ".")
    for day in ("since", "until"):
        if day in found:
            found[day] = _day(found[day])
    return found


def _day(value: str | None) -> date | None:
    """An ISO date from the query string (400 if malformed)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"Not an ISO date (YYYY-MM-DD): {value!r}.")
