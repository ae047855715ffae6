"""`surveys check`: files checked against the whole folder, with warnings and message costs."""

from __future__ import annotations

import os

from bot import advice
from bot.catalog import Claim, read_survey, resolve, survey_files
from bot.cost import SurveyCost, refused, survey_cost
from bot.loader import Problem, SurveyError
from bot.model import Survey


def check_report(
    paths: list[str],
    folder: str,
    held: dict[Claim, str] | None = None,
    stored: set[tuple[str, str]] | frozenset = frozenset(),
) -> list[SurveyCost]:
    """A report for each file named (default: the folder's), as if served with the folder's."""
    targets = _targets(paths) if paths else _listed(folder)
    named = {os.path.realpath(path) for path in targets}
    others = [_load(p) for p in _listed(folder) if os.path.realpath(p) not in named]
    loaded: dict[str, Survey] = {}
    reports: dict[str, SurveyCost] = {}
    for path in targets:
        try:
            loaded[path] = read_survey(path)
        except SurveyError as err:
            reports[path] = refused(path, err.problems)
    served, conflicts = resolve([*loaded.values(), *filter(None, others)], held, stored)
    for path, survey in loaded.items():
        reports[path] = _report(survey, [p for p in conflicts if p.path == path], served)
    return [reports[path] for path in targets]


def _report(survey: Survey, conflicts: list[Problem], served: list[Survey]) -> SurveyCost:
    """One loaded survey's report: refused for its conflicts, else its costs and warnings."""
    if conflicts:
        return refused(survey.path, conflicts, survey.id)
    report = survey_cost(survey, languages=survey.languages, smart_encoding=survey.smart_encoding)
    report.warnings = sorted(
        report.warnings + advice.warnings(survey, served), key=lambda p: p.line
    )
    return report


def over_segments(reports: list[SurveyCost], limit: int) -> list[Problem]:
    """A problem for each message whose worst case is over `limit` segments."""
    return [
        Problem(
            report.file,
            message.line or 1,
            f"{message.what} ({message.language}) is {message.segments} segments at its "
            f"worst, over --max-segments {limit}",
        )
        for report in reports
        for message in report.messages
        if message.segments > limit
    ]


def _targets(paths: list[str]) -> list[str]:
    """The files named, each directory replaced by its survey files."""
    return [file for path in paths for file in (_listed(path) if os.path.isdir(path) else [path])]


def _listed(folder: str) -> list[str]:
    """The survey files of a folder; none when it cannot be read."""
    try:
        return survey_files(folder)
    except OSError:
        return []


def _load(path: str) -> Survey | None:
    """A folder file that only gives context: None when it does not load."""
    try:
        return read_survey(path)
    except SurveyError:
        return None
