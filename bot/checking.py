"""`surveys check`: files checked against the whole folder, with warnings and message costs."""

from __future__ import annotations

import os
from pathlib import Path

from bot import advice
from bot.catalog import Claim, conflicts_with, read_survey, recorded, resolve, survey_files
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
    listed = {os.path.realpath(path) for path in _listed(folder)}
    others = [_load(p) for p in _listed(folder) if os.path.realpath(p) not in named]
    loaded: dict[str, Survey] = {}
    broken: dict[str, SurveyError] = {}
    for path in targets:
        try:
            loaded[path] = read_survey(path)
        except SurveyError as err:
            broken[path] = err
    # What the folder serves (as a server would, from the recorded claims) keeps its claims
    # against a file from elsewhere: a draft checked before it is copied in never wins them.
    in_folder = [s for p, s in loaded.items() if os.path.realpath(p) in listed]
    serving, _ = resolve([*in_folder, *filter(None, others)], held, stored)
    holding = {claim: file for claim, (file, _) in recorded(serving).items()}
    served, conflicts = resolve([*loaded.values(), *filter(None, others)], holding, stored)
    reports = {path: _broken(path, err, served) for path, err in broken.items()}
    for path, survey in loaded.items():
        reports[path] = _report(survey, [p for p in conflicts if p.path == path], served)
    return [reports[path] for path in targets]


def _broken(path: str, err: SurveyError, served: list[Survey]) -> SurveyCost:
    """A file that does not load: every problem and warning found, conflicts included."""
    partial = err.partial
    if partial is None:
        return refused(path, err.problems, _file_id(path), err.warnings)
    # The problems of this round and the next: a conflict is news only once the rest is fixed.
    others = [s for s in served if s.path != partial.path]
    errors = err.problems + conflicts_with(partial, others)
    warnings = _warnings(partial, served, err.warnings)
    return refused(path, sorted(errors, key=_line), partial.id or _file_id(path), warnings)


def _file_id(path: str) -> str:
    """The id of a file read no further than its name: SPEC 1's default, the name's stem."""
    return Path(path).stem


def _report(survey: Survey, conflicts: list[Problem], served: list[Survey]) -> SurveyCost:
    """One loaded survey's report: refused for its conflicts, else its costs; warnings in both."""
    if conflicts:
        return refused(survey.path, conflicts, survey.id, _warnings(survey, served))
    report = survey_cost(survey)  # every language, as sent: what load_file checked too
    report.warnings = _warnings(survey, served, report.warnings)
    return report


def _warnings(survey: Survey, served: list[Survey], found: list[Problem] = ()) -> list[Problem]:
    """The loader's warnings, `found` and the advice for a survey, each once, by line."""
    every = [*survey.warnings, *found, *advice.warnings(survey, served)]
    return sorted(dict.fromkeys(every), key=_line)


def _line(problem: Problem) -> int:
    """Problems of one file go by line."""
    return problem.line


def over_segments(reports: list[SurveyCost], limit: int) -> list[Problem]:
    """A problem for each message whose worst case is over `limit` segments, each said once."""
    found = (
        Problem(
            report.file,
            message.line or 1,
            f"{message.what} ({message.language}) is {message.segments} segments at its "
            f"worst, over --max-segments {limit}",
        )
        for report in reports
        for message in report.messages
        if message.segments > limit
    )
    return list(dict.fromkeys(found))  # a question's re-prompts differ, its line does not


def unreadable(folders: list[str]) -> list[tuple[str, str]]:
    """Each of `folders` that cannot be listed, with why, in the system's words."""
    found = []
    for folder in folders:
        try:
            survey_files(folder)
        except OSError as err:
            found.append((folder, err.strerror or str(err)))
    return found


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
