"""SPSS and Stata files of any survey: the shipped examples, long names, failures, times.

pyreadstat names a Stata value-label set after its variable plus a count, and
Stata holds that name to 32 characters too: a labelled variable's name must
leave room for it, or the file cannot be written. A write that fails leaves
no file; times come back as precisely as docs/exports.md says.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas
import pyreadstat
import pytest
from test_export import AUTH
from test_research_export import TIME_PRECISION, tables

from conftest import ROOT, saved
from storage import research, statfiles

SHIPPED = sorted(path.stem for path in (ROOT / "surveys").glob("*.yaml"))
READERS = {"spss": (pyreadstat.read_sav, "sav"), "stata": (pyreadstat.read_dta, "dta")}
STATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


def export(app, survey_id: str, *args: str):
    """`flask export SURVEY ...`, its result."""
    return app.test_cli_runner().invoke(args=["export", survey_id, *args])


def written(app, survey_id: str, path: Path, fmt: str) -> Path:
    """Export a survey's file (test sessions included) to `path`; the path."""
    result = export(app, survey_id, "--format", fmt, "-o", str(path), "--include-tests")
    assert result.exit_code == 0, result.output
    return path


def codebook_names(app, survey_id: str, folder: Path) -> tuple[list[str], list[str]]:
    """The SPSS and Stata names the codebook lists, in export order."""
    text = written(app, survey_id, folder / f"{survey_id}.md", "codebook").read_text()
    rows = tables(text)[0][1:]
    return [r[2].strip("`") for r in rows], [r[3].strip("`") for r in rows]


@pytest.mark.sqlite_only  # names and labels come from the survey, not SQL
@pytest.mark.parametrize("survey_id", SHIPPED)
def test_every_shipped_survey_writes_both_files_named_as_its_codebook(app, tmp_path, survey_id):
    spss, stata = codebook_names(app, survey_id, tmp_path)
    for fmt, names in (("spss", spss), ("stata", stata)):
        read, extension = READERS[fmt]
        path = written(app, survey_id, tmp_path / f"{survey_id}.{extension}", fmt)
        _, meta = read(str(path))
        assert meta.column_names == names
    assert all(STATA_NAME.fullmatch(name) for name in stata), stata


def test_city_services_reads_back_from_stata_with_its_labels(app, sms, tmp_path):
    sms.send("+15550000001", "CITY")
    for reply in ("1,4", "bus", "5", "4", "hi"):
        sms.send("+15550000001", reply)
    path = written(app, "city-services", tmp_path / "city.dta", "stata")
    frame, meta = pyreadstat.read_dta(str(path), apply_value_formats=True)
    (row,) = frame.to_dict("records")
    recycling = "services_used_Recycling_collect"  # 31 characters: its label set's is 32
    assert row["services_used_Parks"] == "Picked" and row[recycling] == "Picked"
    assert row["services_used_Buses"] == "Not picked"
    assert row["priority"] == "Public transport"
    assert (row["years_here"], row["rating"], row["comment"]) == (5, 4, "hi")
    assert meta.column_names_to_labels[recycling] == "Recycling collection"
    _, stata = codebook_names(app, "city-services", tmp_path)
    assert stata == meta.column_names


def test_city_services_stata_file_over_http(client, sms, tmp_path):
    sms.send("+15550000001", "CITY")
    for reply in ("1,4", "bus", "5", "4", "hi"):
        sms.send("+15550000001", reply)
    response = client.get("/surveys/city-services/export.dta", headers=AUTH)
    assert response.status_code == 200
    (tmp_path / "city.dta").write_bytes(response.get_data())
    frame, _ = pyreadstat.read_dta(str(tmp_path / "city.dta"), apply_value_formats=True)
    assert list(frame["priority"]) == ["Public transport"]


LONG_CHOICE = "which_of_these_fruits_do_you_like_best_of_all"  # 45 characters
LONG_YESNO = "would_you_recommend_us_to_a_friend"  # 34 characters
LONG = f"""\
id: long
keywords: [LONG]
questions:
  - id: {LONG_CHOICE}
    type: choice
    text: Which fruit?
    choices: [Apple, Pear]
  - id: {LONG_YESNO}
    type: yesno
    text: Would you recommend us?
"""


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_long_ids_with_value_labels_read_back(app, sms, surveys_dir, tmp_path, fmt):
    saved(surveys_dir / "long.yaml", LONG)
    app.extensions["survey_service"].catalog.refresh()
    for body in ("LONG", "2", "yes"):
        sms.send("+15550000001", body)
    read, extension = READERS[fmt]
    path = written(app, "long", tmp_path / f"long.{extension}", fmt)
    frame, meta = read(str(path), apply_value_formats=True)
    choice, yesno = meta.column_names[-2:]
    assert frame[choice][0] == "Pear" and frame[yesno][0] == "Yes"
    assert meta.column_names_to_labels[choice] == "Which fruit?"
    spss, stata = codebook_names(app, "long", tmp_path)
    assert meta.column_names == (spss if fmt == "spss" else stata)
    if fmt == "spss":  # 64 characters: both ids whole
        assert (choice, yesno) == (LONG_CHOICE, LONG_YESNO)
    else:  # 31: room for their label sets' counts, `0` and `1`
        assert (choice, yesno) == (LONG_CHOICE[:31], LONG_YESNO[:31])


@pytest.mark.parametrize(
    ("columns", "labelled", "stata"),
    [
        (["a" * 40], [False], ["a" * 32]),  # no label set: the whole 32 characters
        (["a" * 40], [True], ["a" * 31]),  # its label set: `aaa...a0`, 32 characters
        ([f"v{n}" for n in range(10)] + ["b" * 40], [True] * 11, [f"v{n}" for n in range(10)]
         + ["b" * 30]),  # the 11th set's count has two digits
        (["a" * 40, "a" * 41], [True, True], ["a" * 31, "a" * 29 + "_2"]),
        # `q1` then `q` as the 12th: both sets would be `q11`, so `q` takes another name
        (["v0", "q1", *(f"w{n}" for n in range(2, 11)), "q"], [True] * 12,
         ["v0", "q1", *(f"w{n}" for n in range(2, 11)), "q_2"]),
    ],
)  # fmt: skip
def test_stata_names_leave_room_for_their_value_label_sets(columns, labelled, stata):
    assert research.unique_names(columns, research.STATA, labelled) == stata
    spss = research.unique_names(columns, research.SPSS, labelled)
    assert spss == research.unique_names(columns, research.SPSS)  # .sav sets have no names


# -- where files are written ----------------------------------------------------


@pytest.mark.sqlite_only  # refused before any SQL
@pytest.mark.parametrize(
    ("fmt", "name"), [("spss", "x.sav"), ("stata", "x.dta"), ("floip", "x.zip")]
)
def test_a_missing_folder_is_one_line_of_error(app, tmp_path, fmt, name):
    target = tmp_path / "nowhere" / name
    result = export(app, "city-services", "--format", fmt, "-o", str(target))
    assert result.exit_code == 2
    assert f"Error: Cannot write {target}: No such file or directory.\n" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "nowhere").exists()


def broken_writer(frame, path, **options):
    """pyreadstat failing halfway through a file."""
    with open(path, "wb") as half:
        half.write(b"<stata_dta>")
    raise pyreadstat.ReadstatError("A provided name is too long for the file format")


@pytest.mark.sqlite_only  # the file's fate, not SQL
@pytest.mark.parametrize("before", [None, b"an older export"])
def test_a_failed_write_leaves_no_file_and_keeps_an_older_one(app, tmp_path, monkeypatch, before):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "city.dta"
    if before is not None:
        target.write_bytes(before)
    monkeypatch.setattr(pyreadstat, "write_dta", broken_writer)
    result = export(app, "city-services", "--format", "stata", "-o", str(target))
    assert isinstance(result.exception, pyreadstat.ReadstatError)
    assert sorted(p.name for p in folder.iterdir()) == ([] if before is None else ["city.dta"])
    if before is not None:
        assert target.read_bytes() == before


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_times_read_back_within_the_documented_precision(tmp_path, fmt):
    _, units = statfiles.FORMATS[fmt]
    start, randomly = datetime(2020, 1, 1, tzinfo=UTC), random.Random(7)
    moments = [start + timedelta(microseconds=randomly.randrange(10**15)) for _ in range(2000)]
    frame = pandas.DataFrame({"t": [units.of_time(moment) for moment in moments]})
    read, extension = READERS[fmt]
    write = pyreadstat.write_sav if fmt == "spss" else pyreadstat.write_dta
    write(frame, str(tmp_path / f"t.{extension}"), variable_format={"t": units.time_format})
    back, _ = read(str(tmp_path / f"t.{extension}"))
    off = [abs(b - m.replace(tzinfo=None)) for b, m in zip(back["t"], moments, strict=True)]
    assert max(off) <= TIME_PRECISION[fmt]
