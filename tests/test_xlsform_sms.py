"""An imported bilingual XLSForm answered by SMS: a second language, a constraint, relevance."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import survey_folder
from test_conversation import answers_of
from xlsform import import_form

FORMS = Path(__file__).parent / "forms"
PHONE = "+15551239876"


@pytest.fixture
def surveys_dir(tmp_path):
    """The imported market form, edited as the guide says: a keyword per language."""
    result = import_form(FORMS / "market_bilingual.xlsx")
    edited = result.yaml_text.replace(
        "keywords:\n- MARKET\n", "keywords: {en: [MARKET], es: [MERCADO]}\n"
    )
    assert edited != result.yaml_text
    return survey_folder(tmp_path, **{result.survey_id: edited})


def test_an_imported_form_in_its_second_language_with_a_constraint(app, sms):
    first = sms.send(PHONE, "MERCADO")
    assert first.startswith("Bienvenido a la encuesta del mercado.")  # the note, then
    assert "¿Qué fruta compras más?\n1. Manzana\n2. Pera" in first
    assert sms.send(PHONE, "pera").startswith("¿Cuántos kilos por semana?")
    # The form's constraint (. > 0 and . <= 50) and its Spanish message.
    again = sms.send(PHONE, "80")
    assert again.startswith("Entre 1 y 50.") and "¿Cuántos kilos por semana?" in again
    assert sms.send(PHONE, "10").startswith("¿Cuándo viniste por última vez?")
    assert sms.send(PHONE, "ayer").startswith("¿Cuándo volverás?")
    # Stalls are relevant only when the fruit is not pear: skipped, straight to the price.
    assert sms.send(PHONE, "SALTAR").startswith("¿Precio por kilo?")
    assert sms.send(PHONE, "2,5").startswith("Califica el mercado, de 1 a 5.")
    sms.send(PHONE, "4")
    answers = answers_of(app, PHONE)
    assert {k: answers[k] for k in ("fruit", "kilos", "price", "rating")} == {
        "fruit": '"pear"',
        "kilos": "10",
        "price": "2.5",
        "rating": "4",
    }
    assert "stalls" not in answers and "next_visit" not in answers
