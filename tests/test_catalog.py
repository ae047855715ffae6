"""The served surveys: several files, conflicts between them, edits while running."""

import logging
import os
import time
from pathlib import Path

import pytest

import bot.catalog
from bot.catalog import Catalog, recorded, resolve
from bot.checking import check_report
from bot.loader import load_survey
from bot.model import Survey

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
MINIMAL = "questions:\n  - {id: name, type: text, text: Your name}\n"


def survey_yaml(*, title="A survey", keywords=(), default=False, extra="") -> str:
    """A valid survey file's text."""
    return (
        f"title: {title}\n"
        f"keywords: [{', '.join(keywords)}]\n"
        f"default: {str(default).lower()}\n"
        f"{extra}"
        "questions:\n"
        "  - id: name\n"
        "    type: text\n"
        "    text: Your name?\n"
    )


class Folder:
    """A surveys folder whose every write gets a distinct, settled modification time."""

    def __init__(self, path: Path):
        self.path = path
        self.clock = time.time() - 3600  # an hour ago: older than any racy window

    def write(self, name: str, text: str) -> Path:
        """Write `name` and give it a modification time later than any before."""
        file = self.path / name
        file.write_text(text)
        self.clock += 10
        os.utime(file, (self.clock, self.clock))
        return file


@pytest.fixture
def folder(tmp_path):
    return Folder(tmp_path)


class FileClock:
    """Stands in for the catalog's `time`: the wall clock that file times are compared with.

    It stays where a test puts it, so that "saved a moment ago" is not undone by a busy
    machine between the save and the look.
    """

    def __init__(self):
        self.now = time.time_ns()

    def time_ns(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


@pytest.fixture
def file_clock(monkeypatch):
    clock = FileClock()
    monkeypatch.setattr(bot.catalog, "time", clock)
    return clock


def test_serves_every_survey_in_the_folder(folder):
    folder.write("a.yaml", survey_yaml(keywords=["Apple"], default=True))
    folder.write("b.yml", survey_yaml(keywords=["BANANA"]))
    folder.write("notes.txt", "not a survey")
    folder.write(".hidden.yaml", "broken: [")
    catalog = Catalog(folder.path)
    assert [s.id for s in catalog.surveys()] == ["a", "b"]
    assert catalog.get("b").keywords == ("BANANA",)
    assert catalog.by_keyword("apple").id == "a"
    assert catalog.by_keyword(" banana ").id == "b"
    assert catalog.by_keyword("cherry") is None
    assert catalog.default().id == "a"
    assert catalog.keywords() == ["APPLE", "BANANA"]
    assert catalog.problems() == []


def test_edit_is_picked_up_on_next_refresh(folder):
    folder.write("a.yaml", survey_yaml(title="First"))
    catalog = Catalog(folder.path)
    first = catalog.get("a")
    folder.write("a.yaml", survey_yaml(title="Second"))
    catalog.refresh()
    second = catalog.get("a")
    assert (first.title, second.title) == ("First", "Second")
    assert first.version != second.version
    assert catalog.version("a", first.version) is first
    assert catalog.version("a", second.version) is second


def test_unchanged_files_are_not_read_again(folder, monkeypatch):
    folder.write("a.yaml", survey_yaml())
    catalog = Catalog(folder.path)
    loads = []
    monkeypatch.setattr(bot.catalog, "load_survey", lambda *a: loads.append(a))
    for _ in range(3):
        catalog.refresh()
    assert loads == []


def test_quick_edit_with_the_same_stat_is_still_seen(folder, file_clock):
    # Two saves within the file system's timestamp granularity, same size and inode.
    file = folder.write("a.yaml", survey_yaml(title="One"))
    now = file_clock.now - bot.catalog.STABLE_NS  # saved a moment ago: stable, not settled
    os.utime(file, ns=(now, now))
    catalog = Catalog(folder.path)
    assert catalog.get("a").title == "One"
    file.write_text(survey_yaml(title="Two"))
    os.utime(file, ns=(now, now))
    catalog.refresh()
    assert catalog.get("a").title == "Two"


def test_broken_edit_keeps_the_last_good_version(folder, caplog):
    folder.write("a.yaml", survey_yaml(title="Good"))
    catalog = Catalog(folder.path)
    good = catalog.get("a")
    folder.write("a.yaml", survey_yaml(title="Good", extra="titel: oops\n"))
    with caplog.at_level(logging.WARNING, logger="bot.catalog"):
        catalog.refresh()
        catalog.refresh()
    assert catalog.get("a") is good
    assert [(p.line, p.message) for p in catalog.problems()] == [
        (4, 'unknown key "titel" (did you mean "title"?)')
    ]
    assert len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1
    folder.write("a.yaml", survey_yaml(title="Fixed"))
    catalog.refresh()
    assert catalog.get("a").title == "Fixed"
    assert catalog.problems() == []


def test_file_broken_from_the_start_is_not_served(folder):
    folder.write("a.yaml", "questions: []\n")
    catalog = Catalog(folder.path)
    assert catalog.surveys() == []
    assert [str(p) for p in catalog.problems()] == [
        f"{folder.path / 'a.yaml'}:1: questions is empty"
    ]


def test_deleted_file_stops_serving(folder):
    file = folder.write("a.yaml", survey_yaml(keywords=["APPLE"]))
    folder.write("b.yaml", survey_yaml())
    catalog = Catalog(folder.path)
    old = catalog.get("a")
    file.unlink()
    catalog.refresh()
    assert catalog.get("a") is None
    assert catalog.by_keyword("APPLE") is None
    assert [s.id for s in catalog.surveys()] == ["b"]
    assert catalog.version("a", old.version) is old  # sessions on it can still finish


def test_new_file_is_served_on_next_refresh(folder):
    catalog = Catalog(folder.path)
    assert catalog.surveys() == []
    folder.write("new.yaml", survey_yaml(keywords=["NEW"]))
    catalog.refresh()
    assert catalog.by_keyword("new").id == "new"


def test_two_defaults_first_name_wins(folder, caplog):
    folder.write("b.yaml", survey_yaml(default=True))
    folder.write("a.yaml", survey_yaml(default=True))
    with caplog.at_level(logging.WARNING, logger="bot.catalog"):
        catalog = Catalog(folder.path)
        catalog.refresh()
    assert catalog.default().id == "a"
    assert catalog.get("b") is None
    [problem] = catalog.problems()
    assert (Path(problem.path).name, problem.line) == ("b.yaml", 3)
    assert '"a" (a.yaml) is already the default survey; only one can be' in problem.message
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1


def test_shared_keyword_first_name_wins(folder):
    folder.write("a.yaml", survey_yaml(keywords=["FRUIT"]))
    folder.write("b.yaml", "keywords:\n  - VEG\n  - fruit\n" + MINIMAL)
    catalog = Catalog(folder.path)
    assert catalog.by_keyword("fruit").id == "a"
    assert catalog.by_keyword("veg") is None  # the refused survey is refused whole
    [problem] = catalog.problems()
    assert problem.line == 3
    assert 'keyword "FRUIT" is already used by survey "a" (a.yaml)' in problem.message


def test_refused_survey_is_served_once_the_conflict_goes(folder):
    first = folder.write("a.yaml", survey_yaml(keywords=["FRUIT"]))
    folder.write("b.yaml", survey_yaml(keywords=["FRUIT"]))
    catalog = Catalog(folder.path)
    first.unlink()
    catalog.refresh()
    assert catalog.by_keyword("FRUIT").id == "b"
    assert catalog.problems() == []


@pytest.mark.parametrize(
    "draft",
    [
        "id: a\n" + survey_yaml(title="Draft"),  # a copy made to draft a change
        survey_yaml(title="Draft", keywords=["FRUIT"]),  # a new file claiming a keyword
        survey_yaml(title="Draft", default=True),  # or the default
    ],
)
def test_a_new_file_never_displaces_a_served_survey(folder, caplog, draft):
    folder.write("a.yaml", survey_yaml(title="Live", keywords=["FRUIT"], default=True))
    catalog = Catalog(folder.path)
    folder.write("a-draft.yaml", draft)  # its name sorts first
    with caplog.at_level(logging.WARNING, logger="bot.catalog"):
        catalog.refresh()
    assert catalog.by_keyword("FRUIT").title == catalog.default().title == "Live"
    [problem] = catalog.problems()
    assert Path(problem.path).name == "a-draft.yaml" and "a.yaml" in problem.message
    assert any("refused" in r.getMessage() for r in caplog.records)


class Recorded:
    """Claims as the database keeps them for every process."""

    def __init__(self, held=None, stored=()):
        self.claims, self.versions = dict(held or {}), set(stored)

    def settle(self, decide):
        held = {claim: file for claim, (file, _) in self.claims.items()}
        served, conflicts = decide(held, self.versions)
        self.claims = recorded(served)
        return served, conflicts


def parsed(name: str, text: str):
    """A survey loaded from text as if read from `name`."""
    return load_survey(text.encode(), name)


def test_at_start_a_version_with_stored_sessions_wins_over_name_order():
    first, second = (
        parsed("a.yaml", "id: x\n" + MINIMAL),
        parsed("b.yaml", "id: x\n" + MINIMAL + "#"),
    )
    assert resolve([first, second])[0] == [first]
    served, [problem] = resolve([first, second], stored={("x", second.version)})
    assert served == [second] and problem.path == "a.yaml"


def test_recorded_claims_decide_for_every_process(folder):
    folder.write("a.yaml", survey_yaml(keywords=["FRUIT"]))
    folder.write("b.yaml", survey_yaml(keywords=["FRUIT"]))
    recorded = Recorded({("keyword", "FRUIT"): ("b.yaml", "b")})
    catalog = Catalog(folder.path)
    assert catalog.by_keyword("FRUIT").id == "a"  # on its own, the name decides
    catalog.use_claims(recorded)
    assert catalog.by_keyword("FRUIT").id == "b"
    assert recorded.claims == {
        ("id", "b"): ("b.yaml", "b"),
        ("keyword", "FRUIT"): ("b.yaml", "b"),
    }


def test_add_version_registers_a_rebuilt_survey(folder):
    catalog = Catalog(folder.path)
    survey = Survey(id="old", version="abc123abc123", questions=())
    catalog.add_version(survey)
    assert catalog.version("old", "abc123abc123") is survey
    assert catalog.get("old") is None


def test_missing_folder_serves_nothing(tmp_path):
    assert Catalog(tmp_path / "nope").surveys() == []


def check_files(folder, *paths) -> list:
    """The problems `surveys check` finds in the files named (default: the folder's)."""
    reports = check_report([str(p) for p in paths], str(folder))
    return [problem for report in reports for problem in report.errors]


def test_check_files_reports_conflicts_across_files(folder):
    folder.write("a.yaml", survey_yaml(keywords=["FRUIT"], default=True))
    folder.write("b.yaml", "id: a\n" + survey_yaml(keywords=["FRUIT"], default=True))
    folder.write("c.yaml", "questions: 3\n")
    found = [(Path(p.path).name, p.line, p.message) for p in check_files(folder.path)]
    assert found == [
        ("b.yaml", 1, 'survey id "a" is already used by a.yaml'),
        ("b.yaml", 3, 'keyword "FRUIT" is already used by survey "a" (a.yaml)'),
        ("b.yaml", 4, '"a" (a.yaml) is already the default survey; only one can be'),
        ("c.yaml", 1, "questions must be a list"),
    ]


def test_check_files_of_a_missing_file(tmp_path):
    [problem] = check_files(tmp_path, tmp_path / "nope.yaml")
    assert "cannot read the file" in problem.message


def test_example_surveys_load_without_problems():
    assert check_files(SURVEYS) == []
    catalog = Catalog(SURVEYS)
    assert len(catalog.surveys()) >= 2
    assert catalog.default().id == "visit-feedback"
    assert catalog.problems() == []


def questions(count: int, word: str = "Q") -> str:
    """A survey file's text with `count` text questions."""
    return "title: Save\nquestions:\n" + "".join(
        f"  - id: q{n}\n    type: text\n    text: {word} {n}?\n" for n in range(1, count + 1)
    )


def served_questions(catalog: Catalog) -> list[str]:
    """The question texts of the served survey `save`."""
    catalog.refresh()
    return [q.text.source for q in catalog.get("save").questions]


def test_a_save_in_progress_is_never_served_as_a_shorter_survey(folder, file_clock):
    path = folder.write("save.yaml", questions(6))
    catalog = Catalog(folder.path)
    edited = questions(6, word="New")
    cut = edited.index("  - id: q6")
    with path.open("w") as save:  # a slow save: five questions written, then a pause
        save.write(edited[:cut])
        save.flush()
        file_clock.now = path.stat().st_mtime_ns + 10 * bot.catalog.STABLE_NS  # long unchanged
        assert served_questions(catalog) == [f"Q {n}?" for n in range(1, 7)]  # but still open
        save.write(edited[cut:])
    saved_at = path.stat().st_mtime_ns
    file_clock.now = saved_at + bot.catalog.STABLE_NS - 1
    assert served_questions(catalog) == [f"Q {n}?" for n in range(1, 7)]  # a moment not over
    # Taken once unchanged for the moment; with the watcher's interval, within two seconds.
    file_clock.now = saved_at + bot.catalog.STABLE_NS
    assert served_questions(catalog) == [f"New {n}?" for n in range(1, 7)]
    assert bot.catalog.STABLE_NS / 1e9 + bot.catalog.WATCH_INTERVAL <= 2


def test_a_file_moved_into_place_is_taken_once_stable(folder, file_clock):
    folder.write("save.yaml", questions(2))
    catalog = Catalog(folder.path)
    draft = folder.path / ".save.yaml.tmp"
    draft.write_text(questions(3))
    file_clock.now = draft.stat().st_mtime_ns
    draft.rename(folder.path / "save.yaml")
    assert len(served_questions(catalog)) == 2  # just moved: not taken at once
    file_clock.now += bot.catalog.STABLE_NS
    assert len(served_questions(catalog)) == 3


class Unreachable:
    """Claims whose database does not answer."""

    def settle(self, decide):
        raise ConnectionError("database unavailable")


def test_a_database_fault_leaves_this_process_deciding(folder, caplog):
    folder.write("a.yaml", survey_yaml(keywords=["FRUIT"]))
    catalog = Catalog(folder.path)
    with caplog.at_level(logging.WARNING, logger="bot.catalog"):
        catalog.use_claims(Unreachable())
        folder.write("a-draft.yaml", survey_yaml(title="Draft", keywords=["FRUIT"]))
        catalog.refresh()
    assert catalog.by_keyword("FRUIT").title == "A survey"  # still the one served
    assert "is not recorded (database unavailable)" in caplog.text


def test_a_folder_never_read_releases_no_claim(tmp_path):
    claims = Recorded({("keyword", "FRUIT"): ("a.yaml", "a")})  # another process serves a.yaml
    catalog = Catalog(tmp_path / "typo")  # SURVEYS_DIR misspelt: the folder cannot be read
    catalog.use_claims(claims)
    assert claims.claims == {("keyword", "FRUIT"): ("a.yaml", "a")}
    (tmp_path / "typo").mkdir()
    Folder(tmp_path / "typo").write("a.yaml", survey_yaml(keywords=["FRUIT"]))
    catalog.refresh()  # once it can be read, it serves and settles with the others
    assert catalog.by_keyword("FRUIT").id == "a"
    assert claims.claims == {("id", "a"): ("a.yaml", "a"), ("keyword", "FRUIT"): ("a.yaml", "a")}
