"""Hostile XLSForms (issue 24): imported text stays text, and every import is bounded."""

from __future__ import annotations

import time
import zipfile

import pytest
from openpyxl import Workbook

from bot.loader import load_survey
from xlsform import FormError, import_form
from xlsform.convert import MAX_CELL, MAX_FORM_BYTES

TEMPLATE_LIKE = [
    "{{ lipsum(150000) }}",
    "Bad {% for i in range(3) %}x{% endfor %}",
    "{# a comment #} and {{ answers.n }}",
]


def form(tmp_path, text: str, name: str = "form.csv"):
    """A CSV form file holding `text`."""
    path = tmp_path / name
    path.write_text(text)
    return path


def served(tmp_path, path) -> object:
    """The survey the imported file loads as (with every limit a served file has)."""
    result = import_form(path)
    return load_survey(result.yaml_text.encode(), str(tmp_path / "imported.yaml")), result


@pytest.mark.parametrize("text", TEMPLATE_LIKE)
def test_imported_text_is_text_never_a_template(tmp_path, text):
    label, message = (f'"{t}"' for t in (f"How many? {text}", text))
    path = form(
        tmp_path,
        "survey,,,,,\n,type,name,label,constraint,constraint_message\n"
        f",integer,n,{label},. > 0,{message}\n",
    )
    survey, _ = served(tmp_path, path)
    question = survey.questions[0]
    started = time.monotonic()
    assert question.error.render({"answers": {"n": 3}}) == text
    assert question.text.render({"answers": {}}) == f"How many? {text}"
    assert time.monotonic() - started < 1  # the attack's re-prompt took 15 s


def test_a_huge_cell_is_refused_in_one_line(tmp_path):
    path = form(tmp_path, "survey,,,\n,type,name,label\n,text,a," + "x" * (MAX_CELL + 1) + "\n")
    with pytest.raises(FormError, match=r"survey row 2: a cell over 10,000 characters") as caught:
        import_form(path)
    assert "\n" not in str(caught.value)


def test_a_workbook_that_unpacks_huge_is_refused_before_it_is_read(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(["type", "name", "label"])
    sheet.append(["text", "a", "PAD"])
    book.save(tmp_path / "small.xlsx")
    path = tmp_path / "bomb.xlsx"  # the same workbook, its cell grown past what Excel writes
    with zipfile.ZipFile(tmp_path / "small.xlsx") as small, zipfile.ZipFile(path, "w") as bomb:
        for member in small.infolist():
            data = small.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"PAD", b"x" * (MAX_FORM_BYTES + 1))
            bomb.writestr(member.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < MAX_FORM_BYTES // 100  # packs to a few kilobytes
    with pytest.raises(FormError, match="too big for a survey"):
        import_form(path)


def test_many_rows_import_in_time_that_grows_with_them_not_faster(tmp_path):
    rows = [",integer,q0,Q0?,"]
    rows += [f",integer,q{n},Q{n}?,${{q{n - 1}}} > 1" for n in range(1, 40_000)]
    path = form(tmp_path, "survey,,,,\n,type,name,label,relevant\n" + "\n".join(rows) + "\n")
    started = time.process_time()
    with pytest.raises(FormError, match="would not load .* over 1,000,000 bytes"):
        import_form(path)  # its survey file would be refused as the bot reads it (issue 20)
    assert time.process_time() - started < 30  # 40,000 rows took minutes, quadratically


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ("(" * 30 + "${a} > 1" + ")" * 30, "nested more than 20 deep"),
        ("(" * 200 + "${a} > 1" + ")" * 200, "has more than 200 parts"),
        ("-" * 50 + "${a} > 1", "nested more than 20 deep"),
        (" and ".join(["${a} > 1"] * 500), "has more than 200 parts"),
        (". > " + "9" * 5000, "has more than 15 digits"),
    ],
)
def test_deep_long_or_huge_conditions_are_left_out_with_a_clear_warning(tmp_path, condition, why):
    path = form(
        tmp_path,
        "survey,,,,,\n,type,name,label,relevant,constraint\n,integer,a,A?,,\n"
        f",integer,b,B?,{condition if condition[0] != '.' else ''},"
        f"{condition if condition[0] == '.' else ''}\n",
    )
    survey, result = served(tmp_path, path)  # the file loads: no RecursionError, no 5,000 digits
    assert [w for w in map(str, result.warnings) if why in w and "survey row 3" in w]
    assert [q.id for q in survey.questions] == ["a", "b"]


def test_a_huge_number_in_a_range_is_left_out_with_a_warning(tmp_path):
    path = form(
        tmp_path,
        f"survey,,,,\n,type,name,label,parameters\n,range,r,How much?,start=1 end={'9' * 5000}\n",
    )
    survey, result = served(tmp_path, path)
    assert survey.questions[0].max == 10  # pyxform's default end
    assert any("is not a number of at most 15 digits" in str(w) for w in result.warnings)
