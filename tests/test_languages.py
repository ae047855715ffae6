"""The example surveys in Spanish and in two languages, end to end through the webhook, with
the session's language in the export and from an invitation (SPEC 7).

How the engine speaks each language, confirms near misses, reads answers first and the rest
are engine cases (tests/engine/cases.yaml), which need neither Flask nor a database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from storage import db as database

PHONE = "+15551230077"


def play(sms, *replies: str, phone: str = PHONE) -> list[str | None]:
    """Send each reply in turn; the bot's answers."""
    return [sms.send(phone, reply) for reply in replies]


def export_rows(app, survey_id: str) -> list[dict]:
    """`flask export SURVEY` as a list of rows."""
    result = app.test_cli_runner().invoke(args=["export", survey_id])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout_bytes.decode())))


# -- the example surveys, end to end ------------------------------------------------------


def test_the_spanish_example_survey_end_to_end(app, sms):
    intro = "¡Hola! Son 6 preguntas sobre tu barrio. Responde PARAR para no recibir más mensajes."
    assert play(sms, "BARRIO", "doce", "basura", "cuatro", "sí", "ayer", "SALTAR") == [
        intro + "\n\n¿Cuántos años llevas viviendo en el barrio?",
        "¿Qué debería mejorar primero?\n1. Limpieza de calles\n2. Iluminación\n3. Parques",
        "Del 1 al 5, ¿qué nota le das al barrio?",
        "Ya casi terminamos.\n\n¿Fuiste a la última reunión vecinal?",
        "¿Qué día fue?",
        "¿Algo más que quieras contarnos? (o SALTAR)",
        "¡Gracias! Calificaste el barrio con 4 y elegiste Limpieza de calles.",
    ]
    (row,) = export_rows(app, "barrio")
    assert (row["language"], row["anos"], row["mejora"], row["nota"]) == (
        "es",
        "12",
        "limpieza",
        "4",
    )
    assert row["reunion"] == "yes" and row["comentario"] == ""


def test_the_spanish_survey_speaks_spanish_to_a_respondent_who_slips(app, sms):
    sms.send(PHONE, "BARRIO")
    assert sms.send(PHONE, "muchos") == (
        "Por favor, responde con un número entero del 0 al 100."
        "\n\n¿Cuántos años llevas viviendo en el barrio?"
    )
    assert sms.send(PHONE, "AYUDA").startswith("Encuesta del barrio de la junta vecinal.")
    assert sms.send(PHONE, "HELP").endswith("¿Cuántos años llevas viviendo en el barrio?")
    assert sms.send(PHONE, "ATRAS") == (
        "Esta es la primera pregunta.\n\n¿Cuántos años llevas viviendo en el barrio?"
    )


def test_the_bilingual_example_switches_language_and_back_undoes_it(app, sms):
    choose = "Which language do you prefer?\n1. English\n2. Español"
    stall_es = "¿Qué puesto te gustó más?\n1. Fruta\n2. Pescado\n3. Pan"
    replies = play(sms, "MARKET", "2", "BACK", "spanish", "frutas", "verduras y flores", "40")
    assert replies == [
        "Thanks for shopping at the market! 5 quick questions. Reply STOP to opt out.\n\n" + choose,
        stall_es,  # the reply to the language question is already in the new language
        choose,  # BACK to it undoes the switch
        stall_es,
        "¿Qué compraste? p. ej. 1,3\n1. Verduras\n2. Queso\n3. Flores",
        "¿Cuántas veces viniste este mes?",
        "Por favor, responde con el número de visitas de este mes, del 1 al 31.\n\n"
        "¿Cuántas veces viniste este mes?",
    ]
    assert play(sms, "doce", "sí") == [
        "¡Vaya, eres de la casa!\n\n¿Volverás la semana que viene?",
        "¡Gracias! Compraste Verduras y Flores y viniste 12 veces.",
    ]
    (row,) = export_rows(app, "market")
    assert (row["language"], row["lang"], row["stall"], row["bought"]) == (
        "es",
        "es",
        "fruit",
        "vegetables;flowers",
    )


@pytest.mark.parametrize(
    ("keyword", "reply", "then"),
    [
        ("MERCADO", "¿Qué idioma prefieres?", "Which stall did you like best?"),
        ("MARKET", "Which language do you prefer?", "¿Qué puesto te gustó más?"),
    ],
)
def test_a_keyword_picks_the_language_and_the_language_question_is_still_asked(
    app, sms, keyword, reply, then
):
    first = sms.send(PHONE, keyword)
    assert reply in first and first.endswith("1. English\n2. Español")
    other = "inglés" if keyword == "MERCADO" else "ESPAÑOL"  # a name in any language, or a code
    assert sms.send(PHONE, other).startswith(then)


@pytest.mark.parametrize(
    ("language", "first", "stored"),
    [
        ("es", "¡Gracias por comprar", "es"),
        ("de", "Thanks for shopping", "en"),  # a code the survey does not have: the default
    ],
)
def test_an_invitation_starts_in_its_language_else_the_default(app, language, first, stored):
    service = app.extensions["survey_service"].ready()
    survey = service.surveys.get("market")
    with database.locked(service.engine, PHONE) as conn:
        effects, _ = service.start(conn, PHONE, survey, datetime.now(UTC), language=language)
    assert effects.reply.startswith(first)
    assert export_rows(app, "market")[0]["language"] == stored
