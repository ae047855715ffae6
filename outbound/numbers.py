"""Lists of numbers to send to: a CSV file's phone column, in E.164."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

LANGUAGE_COLUMN = "language"


class NumberFileError(ValueError):
    """A file of numbers that cannot be read as such."""


@dataclass
class NumberList:
    """The numbers of a CSV file in E.164, and the rows that were left out."""

    numbers: list[str] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)  # number -> where it was first
    problems: list[str] = field(default_factory=list)  # one line per row left out
    left_out: Counter = field(default_factory=Counter)  # reason -> rows
    languages: dict[str, str] = field(default_factory=dict)  # number -> its `language` cell

    def add(self, cell: str, line: int, region: str, language: str = "") -> None:
        """Add one row's number, or note why it is left out."""
        number = e164(cell, region)
        if number is None:
            self.problems.append(f"row {line}: {cell!r} {why_invalid(cell, region)}")
            self.left_out["invalid number"] += 1
        elif number in self.first_row:
            self.problems.append(f"row {line}: {number} repeats row {self.first_row[number]}")
            self.left_out["repeated number"] += 1
        else:
            self.first_row[number] = line
            self.numbers.append(number)
            if language.strip():
                self.languages[number] = language.strip().lower()


def read_numbers(path: Path, region: str) -> NumberList:
    """Read the `phone` column (else the first) of a CSV with a header, in E.164.

    An optional `language` column gives each number's language code (SPEC section 7).
    """
    found = NumberList()
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = csv.reader(file, _dialect(file))
            header = [cell.strip().casefold() for cell in next(rows, [])]
            column = header.index("phone") if "phone" in header else 0
            language = header.index(LANGUAGE_COLUMN) if LANGUAGE_COLUMN in header else None
            if column == 0 and header and e164(header[0], region):
                raise NumberFileError(f"{path}: the first line must be a header, such as `phone`.")
            for row in rows:
                if any(cell.strip() for cell in row):  # blank lines are no one's number
                    cell = row[column] if len(row) > column else ""
                    code = row[language] if language is not None and len(row) > language else ""
                    found.add(cell, rows.line_num, region, code)
    except UnicodeDecodeError as err:
        raise NumberFileError(f"{path} is not UTF-8 text (save it as CSV UTF-8).") from err
    return found


def _dialect(file) -> type[csv.Dialect] | csv.Dialect:
    """The file's CSV dialect (commas, semicolons or tabs), sniffed from its start."""
    sample = file.read(8192)
    file.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell from


def e164(text: str, region: str) -> str | None:
    """A phone number in E.164 form, or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def why_invalid(text: str, region: str) -> str:
    """Why `e164` refused `text`, in words that say what to write instead."""
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return "is not a phone number"
    if text.strip().startswith("+"):  # its own country code: the region played no part
        country = phonenumbers.region_code_for_country_code(number.country_code)
        return f"is not a valid number in {country} (+{number.country_code})"
    return f"is not a valid number for region {region}; write it with +country code"


def valid_region(text: str) -> str | None:
    """A two-letter country code that libphonenumber knows, upper case, or None."""
    region = text.strip().upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None
