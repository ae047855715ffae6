"""Each example survey played to its end, written out by hand from its file and SPEC.md.

A conversation is a list of (what the respondent sends, the question it
answers or None, the exact SMS the bot sends back). The texts are copied from
the survey files, not rendered by the code under test, so that a wrong
template, a lost choice or a skipped question fails the tests that play them.
"""

from __future__ import annotations

from pathlib import Path

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
EXAMPLES = sorted(path.stem for path in SURVEYS.glob("*.y*ml"))

CONVERSATIONS = {
    "barrio": [  # Spanish only: a number in words, a note before the next question
        ("BARRIO", None, "¡Hola! Son 6 preguntas sobre tu barrio. Responde PARAR para no recibir "
         "más mensajes.\n\n¿Cuántos años llevas viviendo en el barrio?"),
        ("veinte", "anos", "¿Qué debería mejorar primero?\n1. Limpieza de calles\n2. Iluminación"
         "\n3. Parques"),
        ("2", "mejora", "Del 1 al 5, ¿qué nota le das al barrio?"),
        ("4", "nota", "Ya casi terminamos.\n\n¿Fuiste a la última reunión vecinal?"),
        ("sí", "reunion", "¿Qué día fue?"),
        ("hoy", "fecha", "¿Algo más que quieras contarnos? (o SALTAR)"),
        ("Más bancos", "comentario",
         "¡Gracias! Calificaste el barrio con 4 y elegiste Iluminación."),
    ],
    "city-services": [  # a multi, a choice by alias
        ("CITY", None, "The city wants to hear from you: 5 questions, about 2 minutes. Reply STOP "
         "to opt out.\n\nWhich of these have you used this year? Reply with up to 3 numbers, "
         "e.g. 1,4\n1. Parks\n2. Libraries\n3. Buses\n4. Recycling collection\n5. Sports centres"),
        ("1,4", "services_used", "What should the city spend more on?\n1. Roads and potholes\n"
         "2. Public transport\n3. Parks and green spaces\n4. Community safety"),
        ("bus", "priority", "How many years have you lived in the city?"),
        ("12", "years_here",
         "Overall, how would you rate city services, from 1 (poor) to 5 (excellent)?"),
        ("4", "rating", "Anything else you want the city to know? (or reply SKIP)"),
        ("More buses at night", "comment",
         "Thanks for taking part! Results will be published on the city website."),
    ],
    "clinic-follow-up": [  # not better: `what_changed` asked, and the outro's callback line
        ("CLINIC", None, "Hello from Riverside Clinic. A few questions about your recent "
         "appointment help us look after you. Reply STOP to opt out.\n\n"
         "On what date was your appointment? For example 27/11 or yesterday."),
        ("yesterday", "appointment_date",
         "Were you seen within 15 minutes of your appointment time?"),
        ("no", "on_time", "How much pain do you have today, from 0 (none) to 10 (the worst)?"),
        ("5", "pain", "Are you feeling better than before your appointment?"),
        ("no", "feeling_better", "Sorry to hear that. What has not improved? (or reply SKIP)"),
        ("Still sore", "what_changed", "Would you like a nurse to call you back?"),
        ("yes", "callback", "Thank you. A nurse will call you within 2 working days. "
         "If you feel very unwell, call 111 or 999."),
    ],
    "market": [  # switched to Spanish by its first answer; 12 visits bring the note
        ("MARKET", None, "Thanks for shopping at the market! 5 quick questions. Reply STOP to "
         "opt out.\n\nWhich language do you prefer?\n1. English\n2. Español"),
        ("2", "lang", "¿Qué puesto te gustó más?\n1. Fruta\n2. Pescado\n3. Pan"),
        ("pescado", "stall", "¿Qué compraste? p. ej. 1,3\n1. Verduras\n2. Queso\n3. Flores"),
        ("1,3", "bought", "¿Cuántas veces viniste este mes?"),
        ("12", "visits", "¡Vaya, eres de la casa!\n\n¿Volverás la semana que viene?"),
        ("si", "again", "¡Gracias! Compraste Verduras y Flores y viniste 12 veces."),
    ],
    "visit-feedback": [  # the name piped in; a low score asks `improve`
        ("FEEDBACK", None, "Thanks for visiting! 8 quick questions. Reply STOP to opt out.\n\n"
         "What is your first name?"),
        ("Sam", "name",
         "How satisfied were you, Sam?\n1. Very satisfied\n2. Satisfied\n3. Not satisfied"),
        ("1", "satisfaction", "How likely are you to recommend us, from 0 to 10?"),
        ("3", "recommend", "Sorry to hear it. What should we improve? (or SKIP)"),
        ("More parking", "improve", "May we contact you about your answers?"),
        ("yes", "contact_ok", "Which did you use? Reply with all numbers that apply, e.g. 1,3\n"
         "1. Parking\n2. Restaurant\n3. Shop"),
        ("1,3", "topics", "How many times did you visit this year?"),
        ("4", "visits", "When was your last visit?"),
        ("today", "last_visit", "Thanks Sam! Your answers are saved."),
    ],
}  # fmt: skip
