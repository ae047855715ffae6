"""The surveys being served, reloaded from their files while the bot runs."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.cost import too_long
from bot.loader import Problem, SurveyError, as_keyword, line_of, load_survey
from bot.model import Survey
from bot.watch import FolderWatch

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1_000_000  # SPEC 1: a survey file over 1 MB is refused, unread

# A file changed this recently may change again within the file system's
# timestamp granularity without its stat changing: look at its bytes until it settles.
RACY_NS = 2_000_000_000
# SPEC 1: new content is taken once the file is closed (or moved into place) and
# unchanged for this long, so that a save in progress is never served as a
# shorter survey; a saved change is then in effect within two seconds.
STABLE_NS = 500_000_000
# How often the watcher looks at the folder (an inotify read, or a stat of each file
# where inotify is missing): a save is then served STABLE_NS plus at most this later.
WATCH_INTERVAL = 0.2  # seconds

Stamp = tuple[int, int, int]  # (mtime_ns, size, inode)
MISSING: Stamp = (0, 0, 0)


class SurveysUnavailable(RuntimeError):
    """The surveys folder cannot be read and this process has never read it: a fault."""


def survey_files(directory: str | os.PathLike[str]) -> list[str]:
    """The survey files in `directory`, by name; hidden and editor files are skipped."""
    names = sorted(
        name
        for name in os.listdir(directory)
        if name.endswith(SUFFIXES) and not name.startswith((".", "~"))
    )
    return [os.path.join(directory, name) for name in names]


def read_survey(path: str) -> Survey:
    """Load one survey file, a file that cannot be read being one problem."""
    try:
        data = read_capped(path)
    except OSError as err:
        raise SurveyError([Problem(path, 1, f"cannot read the file: {err.strerror}")]) from None
    return load_file(data, path)


def read_capped(path: str) -> bytes:
    """A file's bytes, up to one byte past MAX_FILE_BYTES: enough to tell it is too big."""
    with open(path, "rb") as file:
        return file.read(MAX_FILE_BYTES + 1)


def load_file(data: bytes, path: str) -> Survey:
    """A survey file's bytes loaded, within SPEC 1's limits on its size and its messages."""
    if len(data) > MAX_FILE_BYTES:
        message = f"the file is over {MAX_FILE_BYTES:,} bytes; a survey file is far smaller"
        raise SurveyError([Problem(path, 1, message)])
    survey = load_survey(data, path)
    over = _too_long(survey)
    if over:
        raise SurveyError(over, survey.warnings, survey)
    return survey


def _too_long(survey: Survey) -> list[Problem]:
    """Each line whose text makes a message, in any of the survey's languages, longer than
    Twilio takes at its worst (`bot/cost.py`, as `surveys check` counts them); once per file
    and version: composing every message takes a while."""
    # The same bytes under the same id (a copy in another folder) make the same messages:
    # templates see the id (which may come from the file's name), never the path.
    key = (survey.id, survey.version)
    if key not in _LENGTHS_CHECKED:
        if len(_LENGTHS_CHECKED) >= 1024:  # a bound for a long-running process
            _LENGTHS_CHECKED.clear()
        _LENGTHS_CHECKED[key] = too_long(survey)
    return [replace(problem, path=survey.path) for problem in _LENGTHS_CHECKED[key]]


_LENGTHS_CHECKED: dict[tuple[str, str], list[Problem]] = {}


def _rewatch(catalog: weakref.ref[Catalog]) -> None:
    """In a forked child: the watcher thread did not follow, start one if it was running."""
    found = catalog()
    if found is not None and found._watcher is not None:
        found._lock = threading.Lock()  # the parent's may have been held at the fork
        found._watcher = None
        found.watch(found._interval)


Claim = tuple[str, str]  # (kind, name): ("id", survey id), ("keyword", word), ("default", "")
Resolution = tuple[list[Survey], list[Problem]]  # the surveys served, the conflicts refused


class Claims(Protocol):
    """Where every process records which file serves each id, keyword and default."""

    def held(self) -> dict[Claim, str]:
        """The recorded claims and the file name holding each."""

    def stored(self) -> set[tuple[str, str]]:
        """The (survey id, version) pairs that have stored sessions."""

    def settle(
        self, decide: Callable[[dict[Claim, str], set[tuple[str, str]]], Resolution]
    ) -> Resolution:
        """One process at a time: `decide` from the claims held and stored versions, and
        record the claims of the surveys it serves (`recorded`)."""


def recorded(served: list[Survey]) -> dict[Claim, tuple[str, str]]:
    """What to record for the surveys served: claim -> (file name, survey id)."""
    return {claim: (_file(s), s.id) for s in served for claim in claims_of(s)}


def claims_of(survey: Survey) -> list[Claim]:
    """What a survey takes for itself: its id, its keywords, and the default if it is one."""
    found = [("id", survey.id)] + [("keyword", word) for word in survey.keywords]
    return found + [("default", "")] if survey.default else found


def resolve(
    surveys: list[Survey],
    held: dict[Claim, str] | None = None,
    stored: set[tuple[str, str]] | frozenset = frozenset(),
) -> tuple[list[Survey], list[Problem]]:
    """Serve the surveys whose claims are free, refusing each that conflicts.

    A claim held by a file (`held`: claim -> file name) stays with it while it
    still makes it; the others go first to a version with stored sessions, then
    to the file whose name sorts first.
    """
    owners = {
        claim: survey
        for survey in surveys
        for claim in claims_of(survey)
        if (held or {}).get(claim) == _file(survey)
    }
    served: dict[str, Survey] = {}
    problems: list[Problem] = []
    for survey in sorted(
        surveys, key=lambda s: ((s.id, s.version) not in stored, *_name_order(s.path))
    ):
        found = _conflicts(survey, owners)
        problems.extend(found)
        if not found:
            served[survey.id] = survey
            owners.update(dict.fromkeys(claims_of(survey), survey))
    return list(served.values()), problems


def conflicts_with(survey: Survey, served: list[Survey]) -> list[Problem]:
    """What of `survey` (one that may not even load) the `served` surveys already claim."""
    owners = {claim: other for other in served for claim in claims_of(other)}
    return _conflicts(survey, owners)


def _conflicts(survey: Survey, owners: dict[Claim, Survey]) -> list[Problem]:
    """What keeps `survey` from being served: its id, default or keywords taken by another."""
    found = []
    for claim in claims_of(survey):
        other = owners.get(claim, survey)
        if other is not survey:
            line, message = _conflict(survey, claim, other)
            found.append(Problem(survey.path, line, message))
    return found


def _conflict(survey: Survey, claim: Claim, other: Survey) -> tuple[int, str]:
    """The line and message of one claim `other` holds."""
    kind, name = claim
    if kind == "id":
        return line_of(survey, "id"), f'survey id "{name}" is already used by {_file(other)}'
    if kind == "default":
        message = f'"{other.id}" ({_file(other)}) is already the default survey; only one can be'
        return line_of(survey, "default"), message
    message = f'keyword "{name}" is already used by survey "{other.id}" ({_file(other)})'
    return line_of(survey, "keywords", name), message


def _file(survey: Survey) -> str:
    """The file name of a survey, as conflict messages show it."""
    return os.path.basename(survey.path)


def _name_order(path: str) -> tuple[str, str]:
    """Files compete by name: the one whose name sorts first wins."""
    return (os.path.basename(path), path)


def _problem_order(problem: Problem) -> tuple[str, str, int]:
    """Problems sort by file name, then line."""
    return (*_name_order(problem.path), problem.line)


def _stamp(st: os.stat_result) -> Stamp:
    """What a stat says about a change: time, size and inode."""
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _settled(mtime_ns: int) -> bool:
    """Whether a stat this old can be trusted to show the next change."""
    return time.time_ns() - mtime_ns > RACY_NS


@dataclass(frozen=True)
class SurveyFile:
    """What the catalog knows of one file: its last good survey and its current problems."""

    stamp: Stamp
    digest: str  # of the bytes last read, to skip re-loading unchanged content
    good: Survey | None = None  # the last version that loaded: it keeps serving
    problems: tuple[Problem, ...] = ()

    def changed(self, stamp: Stamp, data: bytes, path: str) -> SurveyFile:
        """This file with new content: a new good version, or the old one kept with problems."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            survey = load_file(data, path)
        except SurveyError as err:
            kept = f"; version {self.good.version} keeps serving" if self.good else ""
            log.warning("survey file %s does not load%s:\n%s", path, kept, err)
            return SurveyFile(stamp, digest, self.good, tuple(err.problems))
        except Exception:  # a bug in the loader must not stop the other surveys
            log.exception("survey file %s could not be loaded", path)
            problem = Problem(path, 1, "the file could not be loaded (see the log)")
            return SurveyFile(stamp, digest, self.good, (problem,))
        log.info("loaded survey %s version %s from %s", survey.id, survey.version, path)
        return SurveyFile(stamp, digest, survey)


@dataclass(frozen=True)
class _Served:
    """One consistent view of what is served, replaced whole after a change."""

    by_id: dict[str, Survey] = field(default_factory=dict)
    by_word: dict[str, Survey] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    default: Survey | None = None  # found once here: messages ask for it, the folder may be big


class Catalog:
    """The surveys served from one folder, kept in step with its files by `refresh()`."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = os.fspath(directory)
        self._lock = threading.Lock()
        self._dir_stamp: Stamp | None = None
        self._paths: list[str] = []
        self._files: dict[str, SurveyFile] = {}
        self._versions: dict[tuple[str, str], Survey] = {}
        self._served = _Served()
        self._refused: set[Problem] = set()
        self._fault: str | None = None  # why the folder cannot be read now
        self._listed = False  # whether the folder was ever read: its surveys are known
        self._dirty = False  # the folder changed since the last reload began
        self._unstable = False  # a file's new content is not taken yet: look again
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._interval = WATCH_INTERVAL
        self._fork_hook = False
        self._watch = FolderWatch(self.directory)
        self._claims: Claims | None = None
        self.refresh()
        if self._unstable:  # files saved a moment ago: take them once stable, at start
            time.sleep(STABLE_NS / 1e9)
            self.refresh()

    def refresh(self) -> None:
        """Reload the files that changed since the last call: no work when none did."""
        if self._stale():
            with self._lock:
                self._reload()

    def watch(self, interval: float = WATCH_INTERVAL) -> None:
        """Keep the surveys in step with the folder from a thread of this process (SPEC 1).

        A saved change is then served within two seconds whether or not
        messages arrive, and no message ever waits for a file to load. A
        process forked from this one (`gunicorn --preload`) watches again in
        the child, where the thread did not follow.
        """
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return
            self._interval, self._stopping = interval, threading.Event()
            self._watcher = threading.Thread(
                target=self._watch_loop, name="survey-watcher", daemon=True
            )
            self._watcher.start()
        if not self._fork_hook:
            self._fork_hook = True
            own = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _rewatch(own))

    def stop_watching(self) -> None:
        """Stop the watcher thread and wait for it (a reload under way finishes first)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._stopping.set()
            watcher.join()

    @property
    def watched(self) -> bool:
        """Whether a watcher thread keeps this catalog in step: no caller needs to refresh."""
        return self._watcher is not None and self._watcher.is_alive()

    def _watch_loop(self) -> None:
        """The watcher's loop: refresh, then sleep, until stopped."""
        while not self._stopping.wait(self._interval):
            try:
                self.refresh()
            except Exception:  # a bug must not stop the watching: the next look tries again
                log.exception("the survey watcher could not reload %s", self.directory)

    def refresh_now(self) -> None:
        """Reload now, whatever the watch says."""
        with self._lock:
            self._reload()

    def _stale(self) -> bool:
        """Whether a reload is due: the folder changed, cannot be read, or holds a save."""
        if self._watch.changed():
            self._dirty = True
        return self._dirty or self._unstable or self._fault is not None

    def _reload(self) -> None:
        """List the folder and reload what changed (the caller holds the lock)."""
        self._dirty = self._unstable = False
        paths = self._list()
        changed = self._forget(set(self._files) - set(paths))
        for path in paths:
            changed |= self._check(path)
        if changed:
            self._serve()
        self._listed |= self._fault is None  # its surveys are known (and served) from now on

    def _list(self) -> list[str]:
        """The survey files in the folder, listed again only when the folder changed.

        A folder that cannot be read is a fault, not an empty folder: the files
        known from the last listing keep serving until it can be read again.
        """
        try:
            st = os.stat(self.directory)
            if _stamp(st) != self._dir_stamp or not _settled(st.st_mtime_ns):
                self._paths = survey_files(self.directory)
                self._dir_stamp = _stamp(st)
        except OSError as err:
            if self._fault is None:
                kept = "the surveys last loaded keep serving" if self._listed else "none served"
                log.error("survey folder %s cannot be read (%s): %s", self.directory, err, kept)
            self._fault, self._dir_stamp = str(err), MISSING
            return self._paths
        self._fault = None
        return self._paths

    def ensure_available(self) -> None:
        """Raise SurveysUnavailable when the folder has never been read by this process."""
        if not self._listed:
            raise SurveysUnavailable(f"the surveys folder cannot be read: {self._fault}")

    def _forget(self, paths: set[str]) -> bool:
        """Stop serving deleted files; True if there were any."""
        for path in paths:
            log.info("survey file %s was removed", path)
            del self._files[path]
        return bool(paths)

    def _check(self, path: str) -> bool:
        """Reload `path` if its content changed; True if what it serves may have changed."""
        known = self._files.get(path)
        try:
            st = os.stat(path)
            if known and known.stamp == _stamp(st) and _settled(st.st_mtime_ns):
                return False
            if not self._stable(path, st):
                self._unstable = True
                return False
            data = read_capped(path)
        except OSError:  # gone between listing and reading: the next listing drops it
            return False
        if known and known.digest == hashlib.sha256(data).hexdigest():
            self._files[path] = SurveyFile(_stamp(st), known.digest, known.good, known.problems)
            return False
        self._files[path] = (known or SurveyFile(MISSING, "")).changed(_stamp(st), data, path)
        self._remember(self._files[path].good)
        return True

    def _stable(self, path: str, st: os.stat_result) -> bool:
        """Whether a file's content may be taken: closed, and unchanged for STABLE_NS."""
        if os.path.basename(path) in self._watch.writing:
            return False
        return time.time_ns() - st.st_mtime_ns >= STABLE_NS

    def _serve(self) -> None:
        """Resolve conflicts between the good versions and publish the result."""
        good = [f.good for f in self._files.values() if f.good]
        served, conflicts = self._resolve(good)
        for problem in set(conflicts) - self._refused:
            log.warning("survey refused: %s", problem)
        self._refused = set(conflicts)
        broken = [p for f in self._files.values() for p in f.problems]
        self._served = _Served(
            by_id={s.id: s for s in sorted(served, key=lambda s: s.id)},
            by_word={word: s for s in served for word in s.keywords},
            problems=tuple(sorted(broken + conflicts, key=_problem_order)),
            default=next((s for s in sorted(served, key=lambda s: s.id) if s.default), None),
        )

    def use_claims(self, claims: Claims) -> None:
        """Agree with every other process through `claims` from now on."""
        with self._lock:
            self._claims = claims
            # A folder never read serves nothing yet: settling now would release the claims
            # every other process's files hold (a typo in SURVEYS_DIR, a mount not there yet).
            if self._listed:
                self._serve()

    def _resolve(self, good: list[Survey]) -> tuple[list[Survey], list[Problem]]:
        """Resolve conflicts keeping what is served: recorded claims, else this process's own."""
        if self._claims is not None:
            try:
                return self._claims.settle(lambda held, stored: resolve(good, held, stored))
            except Exception as err:  # a database fault must not stop the surveys loading
                log.warning("which file serves each survey is not recorded (%s): decided here", err)
        return resolve(good, self.held())

    def held(self) -> dict[Claim, str]:
        """The claims this process serves now, by file name."""
        return {c: _file(s) for s in self._served.by_id.values() for c in claims_of(s)}

    def _remember(self, survey: Survey | None) -> None:
        """Keep a loaded version for sessions that started on it."""
        if survey is not None:
            self._versions.setdefault((survey.id, survey.version), survey)

    def surveys(self) -> list[Survey]:
        """The served surveys, by id."""
        return list(self._served.by_id.values())

    def get(self, survey_id: str) -> Survey | None:
        """The current version of a served survey."""
        return self._served.by_id.get(survey_id)

    def by_keyword(self, word: str) -> Survey | None:
        """The served survey that `word` starts, in any case."""
        return self._served.by_word.get(as_keyword(word))

    def default(self) -> Survey | None:
        """The served survey marked `default: true`, if any."""
        return self._served.default

    def keywords(self) -> list[str]:
        """Every keyword of the served surveys, sorted."""
        return sorted(self._served.by_word)

    def problems(self) -> list[Problem]:
        """The problems of the current files: broken files and refused conflicts."""
        return list(self._served.problems)

    def version(self, survey_id: str, version: str) -> Survey | None:
        """Any version of a survey this process has loaded or been given."""
        return self._versions.get((survey_id, version))

    def add_version(self, survey: Survey) -> None:
        """Register a version rebuilt by the caller (from stored source, say)."""
        # Without our lock (dict.setdefault is atomic): callers hold the database's write
        # lock, which a refresh holding our lock may be waiting for to settle claims.
        self._remember(survey)
