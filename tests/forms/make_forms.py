"""Write market_bilingual.xlsx, a two-language form for tests/test_xlsform.py.

Run from the repository: python tests/forms/make_forms.py. The .xlsx is committed, so the
tests read a real workbook through pyxform's own parser; this script says what is in it.
"""

from pathlib import Path

from openpyxl import Workbook

EN, ES = "English (en)", "Español (es)"
SURVEY = [
    [
        "type",
        "name",
        f"label::{EN}",
        f"label::{ES}",
        "label::Klingon",
        f"hint::{EN}",
        f"hint::{ES}",
        "required",
        "relevant",
        "constraint",
        f"constraint_message::{EN}",
        f"constraint_message::{ES}",
        "parameters",
    ],
    [
        "note",
        "welcome",
        "Welcome to the market survey.",
        "Bienvenido a la encuesta del mercado.",
        "nuqneH",
    ],
    [
        "select_one fruits",
        "fruit",
        "Which fruit do you buy most?",
        "¿Qué fruta compras más?",
        None,
        None,
        None,
        "yes",
    ],
    [
        "integer",
        "kilos",
        "How many kilos a week?",
        "¿Cuántos kilos por semana?",
        None,
        "Whole kilos",
        "Kilos enteros",
        "yes",
        None,
        ". > 0 and . <= 50",
        "Between 1 and 50.",
        "Entre 1 y 50.",
    ],
    [
        "date",
        "last_visit",
        "When did you last come?",
        "¿Cuándo viniste por última vez?",
        None,
        None,
        None,
        "yes",
        None,
        ". >= '2020-01-01' and . <= today()",
        "A date until today.",
        "Una fecha hasta hoy.",
    ],
    [
        "date",
        "next_visit",
        "When will you come again?",
        "¿Cuándo volverás?",
        None,
        None,
        None,
        "no",
        None,
        ". >= today()",
    ],
    [
        "select_multiple stalls",
        "stalls",
        "Which stalls, ${fruit} buyer?",
        "¿Qué puestos?",
        None,
        None,
        None,
        "yes",
        "${kilos} >= 5 and not(selected(${fruit}, 'pear'))",
        "count-selected(.) <= 2",
        "Two at most.",
        "Dos como máximo.",
    ],
    [
        "decimal",
        "price",
        "Price per kilo?",
        "¿Precio por kilo?",
        None,
        None,
        None,
        None,
        None,
        ". > 0",
    ],
    [
        "range",
        "rating",
        "Rate the market, 1 to 5.",
        "Califica el mercado, de 1 a 5.",
        None,
        None,
        None,
        "yes",
        None,
        None,
        None,
        None,
        "start=1 end=5",
    ],
    [
        "text",
        "comment",
        "Anything else about ${stalls}?",
        "¿Algo más?",
        None,
        None,
        None,
        None,
        "count-selected(${stalls}) > 1",
    ],
]
CHOICES = [
    ["list_name", "name", f"label::{EN}", f"label::{ES}"],
    ["fruits", "apple", "Apple", "Manzana"],
    ["fruits", "pear", "Pear", "Pera"],
    ["stalls", "north", "North", "Norte"],
    ["stalls", "south", "South", "Sur"],
    ["stalls", "east", "East", None],
]
SETTINGS = [
    ["form_id", "form_title", "sms_keyword", "default_language", "version"],
    ["market-survey", "Market survey", "MARKET", EN, "2026031501"],
]


def main() -> None:
    """Write the workbook next to this script."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in (("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS)):
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(Path(__file__).with_name("market_bilingual.xlsx"))


if __name__ == "__main__":
    main()
