"""Conversations in several languages through the webhook, and what SPEC 1, 2 and 7 add to one:
notes, confirmations, answers first, BACK after SKIP, constraints and answers shown as seen."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime

import pytest

from conftest import ROOT
from storage import db as database

TRIP = """\
id: trip
title: {en: Trip, es: Viaje}
languages: [en, es]
keywords: {en: [TRIP], es: [VIAJE]}
max_retries: 1
outro:
  en: "{{ answers.place }}, {{ answers.nights }} nights, {{ answers.extras }}, {{ answers.leave }},
    {{ answers.happy }}{% if answers.place == 'beach' and not answers.happy %} (sorry){% endif %}
    [{{ answers.extras | join(';') }}]"
  es: "{{ answers.place }}, {{ answers.nights }} noches, {{ answers.extras }}, {{ answers.leave }},
    {{ answers.happy }}"
questions:
  - id: place
    type: choice
    text: {en: "Where to?", es: "¿Adónde?"}
    choices:
      - {label: City, value: city}
      - {label: {en: Beach, es: Playa}, value: beach}
      - {label: {en: Mountains, es: Montaña}, value: mountains, aliases: {es: [sierra]}}
  - id: nights
    type: number
    integer: true
    min: 1
    constraint: value <= 14
    error: {en: "At most 14 nights.", es: "Como mucho 14 noches."}
    text: {en: "How many nights?", es: "¿Cuántas noches?"}
  - id: extras
    type: multi
    optional: true
    text: {en: "Extras? (or SKIP)", es: "¿Extras? (o SALTAR)"}
    choices:
      - {label: {en: Breakfast, es: Desayuno}, value: breakfast}
      - {label: Parking, value: parking}
      - {label: {en: Late checkout, es: Salida tarde}, value: late_checkout}
  - id: almost
    type: note
    text: {en: "Almost done.", es: "Ya casi."}
  - id: leave
    type: date
    min: 2026-01-01
    max: 2030-12-31
    text: {en: "Leaving when?", es: "¿Cuándo sales?"}
  - id: happy
    type: yesno
    text: {en: "Happy?", es: "¿Contento?"}
"""

MOOD = """\
id: mood
keywords: [MOOD]
max_retries: 1
questions:
  - id: feel
    type: choice
    text: How do you feel?
    choices: [Very satisfied, Satisfied, Not satisfied]
  - id: where
    type: choice
    text: Where do you live?
    choices: [City, Suburbs]
  - id: about
    type: text
    text: What about?
  - id: reason
    type: choice
    text: Why?
    choices: [Visits, Prices, Staff]
  - id: count
    type: number
    text: How many?
  - id: picks
    type: multi
    text: Which?
    choices: [Parking, Garden]
  - id: bye
    type: note
    text: That was the last question.
"""

PHONE = "+15551230077"
TRIP_EN = "Where to?\n1. City\n2. Beach\n3. Mountains"
TRIP_ES = "¿Adónde?\n1. City\n2. Playa\n3. Montaña"
MOOD_FEEL = "How do you feel?\n1. Very satisfied\n2. Satisfied\n3. Not satisfied"


@pytest.fixture
def surveys_dir(tmp_path):
    """The example surveys, and this module's own."""
    target = tmp_path / "surveys"
    shutil.copytree(ROOT / "surveys", target)
    (target / "trip.yaml").write_text(TRIP)
    (target / "mood.yaml").write_text(MOOD)
    return target


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
        ("en", "Thanks for shopping", "en"),
        ("de", "Thanks for shopping", "en"),  # a code the survey does not have: the default
        (None, "Thanks for shopping", "en"),
    ],
)
def test_an_invitation_starts_in_its_language_else_the_default(app, language, first, stored):
    service = app.extensions["survey_service"].ready()
    survey = service.surveys.get("market")
    with database.locked(service.engine, PHONE) as conn:
        effects, _ = service.start(conn, PHONE, survey, datetime.now(UTC), language=language)
    assert effects.reply.startswith(first)
    assert export_rows(app, "market")[0]["language"] == stored


# -- opting out and commands in every language --------------------------------------------


@pytest.mark.parametrize(
    ("start", "word", "reply"),
    [
        ("BARRIO", "PARAR", "Te has dado de baja y no recibirás más mensajes."),
        ("TRIP", "parar", "You are unsubscribed and will get no more messages."),  # the session's
        ("MARKET", "Arrêt", "You are unsubscribed and will get no more messages."),
        (None, "ARRET", "Vous êtes désabonné et ne recevrez plus de messages."),  # the word's
        ("BARRIO", "STOP", None),  # Twilio confirms its own words
        ("TRIP", "unsubscribe", None),
    ],
)
def test_every_languages_opt_out_words_work_everywhere(app, sms, start, word, reply):
    if start:
        sms.send(PHONE, start)
    answer = sms.send(PHONE, word)
    assert answer is None if reply is None else answer.startswith(reply)
    assert sms.send(PHONE, "hola") is None  # opted out: nothing more is sent
    assert sms.send(PHONE, "COMENZAR").startswith("Te has suscrito de nuevo")


@pytest.mark.parametrize(
    ("start", "word", "reply"),
    [
        ("VIAJE", "ayuda", "Viaje: una encuesta por SMS."),
        ("VIAJE", "help", "Viaje: una encuesta por SMS."),  # English works in every session
        ("TRIP", "help", "Trip: a survey by text message."),
        (None, "aide", "Visit feedback : un questionnaire par SMS."),  # no session: any language
    ],
)
def test_help_in_the_sessions_language(app, sms, start, word, reply):
    if start:
        sms.send(PHONE, start)
    assert sms.send(PHONE, word).startswith(reply)


def test_another_languages_command_word_is_an_answer_in_a_session(app, sms):
    sms.send(PHONE, "VIAJE")
    assert sms.send(PHONE, "aide") == "Por favor, responde con un número del 1 al 3.\n\n" + TRIP_ES
    sms.send(PHONE, "2")
    assert sms.send(PHONE, "BACK") == TRIP_ES  # English BACK works in a Spanish session


# -- answers shown as seen, stored as values ----------------------------------------------


def test_templates_print_answers_as_seen_and_compare_stored_values(app, sms):
    replies = play(sms, "TRIP", "2", "20", "3", "1 and 3", "2030-05-01", "no")
    assert replies == [
        TRIP_EN,
        "How many nights?",
        "At most 14 nights.\n\nHow many nights?",  # the constraint's error, then the question
        "Extras? (or SKIP)\n1. Breakfast\n2. Parking\n3. Late checkout",
        "Almost done.\n\nLeaving when?",  # a note goes with the next question
        "Happy?",
        "Beach, 3 nights, Breakfast and Late checkout, 1 May 2030, No (sorry)"
        " [breakfast;late_checkout]",
    ]


def test_templates_print_answers_in_the_sessions_language(app, sms):
    replies = play(
        sms, "VIAJE", "sierra", "tres", "desayuno y salida tarde", "1 de mayo de 2030", "sí"
    )
    assert replies[0] == TRIP_ES
    assert replies[-1] == "Montaña, 3 noches, Desayuno y Salida tarde, 1 may 2030, Sí"


def test_a_date_outside_its_limits_is_asked_again_with_the_range(app, sms):
    play(sms, "TRIP", "1", "2", "SKIP")
    today = datetime.now(UTC).date()  # the example: today, which is within the range
    assert sms.send(PHONE, "12/31/2031") == (
        "Please reply with a date from 1/1/2026 to 12/31/2030, "
        f"like {today.month}/{today.day}/{today.year}.\n\nLeaving when?"
    )


# -- BACK -----------------------------------------------------------------------------------


def test_back_after_skip_goes_back_to_the_skipped_question(app, sms):
    play(sms, "TRIP", "1", "2")
    assert sms.send(PHONE, "SKIP") == "Almost done.\n\nLeaving when?"
    assert sms.send(PHONE, "BACK").startswith("Extras? (or SKIP)")
    assert sms.send(PHONE, "BACK") == "How many nights?"
    assert sms.send(PHONE, "BACK") == TRIP_EN
    assert sms.send(PHONE, "BACK") == "This is the first question.\n\n" + TRIP_EN


def test_back_to_a_question_after_a_note_sends_the_note_again(app, sms):
    play(sms, "TRIP", "1", "2", "SKIP", "2030-01-02")
    assert sms.send(PHONE, "BACK") == "Almost done.\n\nLeaving when?"
    assert sms.send(PHONE, "2030-01-03") == "Happy?"


# -- confirmations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("then", "reply", "stored"),
    [
        ("yes", "Where do you live?\n1. City\n2. Suburbs", "Satisfied"),
        ("no", MOOD_FEEL, None),  # asked again
        ("1", "Where do you live?\n1. City\n2. Suburbs", "Very satisfied"),  # read as a reply
    ],
)
def test_a_near_miss_is_confirmed(app, sms, then, reply, stored):
    sms.send(PHONE, "MOOD")
    assert sms.send(PHONE, "satisfed") == 'Did you mean "Satisfied"? Reply YES or NO.'
    assert sms.send(PHONE, then) == reply
    (row,) = export_rows(app, "mood")
    assert row["feel"] == (stored or "")


def test_a_confirmation_uses_no_retry(app, sms):
    play(sms, "MOOD", "satisfed", "no")
    assert sms.send(PHONE, "zzz") == "Please reply with a number from 1 to 3.\n\n" + MOOD_FEEL


def test_a_spanish_confirmation_is_in_spanish(app, sms):
    sms.send(PHONE, "VIAJE")
    assert sms.send(PHONE, "Plaia") == '¿Quisiste decir "Playa"? Responde SI o NO.'
    assert sms.send(PHONE, "sí") == "¿Cuántas noches?"


def test_a_multi_question_gets_no_confirmation(app, sms):
    play(sms, "MOOD", "1", "2", "x", "1", "1")
    assert sms.send(PHONE, "Parkng").startswith("Please reply with one or more numbers")


# -- answers first --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "reply", "survey", "next_text"),
    [
        (["MOOD", "1"], "city", "mood", "What about?"),  # a choice labelled City
        (["MOOD", "1", "1"], "Feedback", "mood", "Why?"),  # a text question
        (["MOOD", "1", "1", "x", "1"], "city", "city-services", "Which of these"),  # a number
        (["MOOD", "1", "1", "x"], "visit", "visit-feedback", "Thanks for visiting!"),  # near miss
    ],
)
def test_a_reply_is_an_answer_before_it_is_a_keyword(app, sms, before, reply, survey, next_text):
    play(sms, *before)
    assert next_text in sms.send(PHONE, reply)
    assert app.extensions["survey_service"].situation(PHONE).run.survey_id == survey


def test_a_note_at_the_end_goes_with_the_outro(app, sms):
    assert play(sms, "MOOD", "1", "1", "x", "1", "3", "1")[-1] == (
        "That was the last question.\n\nThank you!"
    )
