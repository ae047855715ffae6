"""The built-in languages' words and texts (SPEC section 7), as the engine looks them up."""

import string

import pytest

from bot.replies import normalise
from bot.texts import TEXTS, keywords_text, text
from bot.words import (
    ALL_COMMAND_WORDS,
    LANGUAGE_NAMES,
    LANGUAGES,
    TWILIO_OPT_OUT_WORDS,
    cardinal,
    command_of,
    language_of,
    words_for,
)

COMMAND_CASES = [
    ("STOP", ["en"], "opt_out"),
    ("stop", ["es"], "opt_out"),  # opt-out and opt-in words work in every session
    ("Unsubscribe", ["fr"], "opt_out"),
    ("PARAR", ["en"], "opt_out"),
    ("parar", ["pt"], "opt_out"),
    ("ARRET", ["en"], "opt_out"),
    ("ARRÊT", ["en"], "opt_out"),
    ("arrêter", ["fr"], "opt_out"),
    ("désabonner", ["fr"], "opt_out"),
    ("SAIR", ["es"], "opt_out"),
    ("Cancelar", ["en"], "opt_out"),
    ("START", ["es"], "opt_in"),
    ("COMENZAR", ["en"], "opt_in"),
    ("COMEÇAR", ["en"], "opt_in"),
    ("comecar", ["pt"], "opt_in"),
    ("commencer", ["es"], "opt_in"),
    ("HELP", ["en"], "help"),
    ("info", ["en"], "help"),
    ("AYUDA", ["es", "en"], "help"),
    ("help", ["es", "en"], "help"),  # in a session: its language's words and English
    ("AIDE", ["fr", "en"], "help"),
    ("ajuda", ["pt", "en"], "help"),
    ("aide", ["en"], None),  # another language's HELP is no command in an English session
    ("ATRÁS", ["es", "en"], "back"),
    ("atras", ["es", "en"], "back"),  # accents ignored
    ("Atrás!", ["es", "en"], "back"),
    ("volver", ["es"], "back"),
    ("retour", ["fr"], "back"),
    ("voltar", ["pt"], "back"),
    ("back", ["en"], "back"),
    ("SALTAR", ["es"], "skip"),
    ("omitir", ["es"], "skip"),
    ("passer", ["fr"], "skip"),
    ("pular", ["pt"], "skip"),
    ("skip", ["pt", "en"], "skip"),
    ("REINICIAR", ["es"], "restart"),
    ("reiniciar", ["pt"], "restart"),
    ("recommencer", ["fr"], "restart"),
    ("restart", ["en"], "restart"),
    ("saltar", ["fr", "en"], None),
    ("BAJA", list(LANGUAGES), None),  # "low": an everyday answer, never an opt-out
    ("ALTA", list(LANGUAGES), None),
    ("yes", list(LANGUAGES), None),  # YES opts in only while opted out: the engine decides
    ("stop please", list(LANGUAGES), None),  # commands are whole messages
    ("hola", list(LANGUAGES), None),
]


@pytest.mark.parametrize(("message", "languages", "command"), COMMAND_CASES)
def test_command_of(message, languages, command):
    assert command_of(normalise(message), languages) == command


def test_twilio_handles_only_the_english_opt_out_words():
    assert {
        "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
    } == TWILIO_OPT_OUT_WORDS  # fmt: skip
    assert command_of("parar", ["es"]) == "opt_out"
    assert "parar" not in TWILIO_OPT_OUT_WORDS  # so the bot confirms it itself


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_command_word_is_an_everyday_answer(language):
    words = words_for(language)
    answers = words.yes | words.no | words.number_words | set(words.months) | set(words.weekdays)
    assert not ALL_COMMAND_WORDS & answers


LANGUAGE_OF_CASES = [
    ("español", ("en", "es"), "es"),
    ("espanol", ("en", "es"), "es"),
    ("Spanish", ("en", "es"), "es"),
    ("espagnol", ("en", "es"), "es"),
    ("espanhol", ("en", "es"), "es"),
    ("es", ("en", "es"), "es"),
    ("portugais", ("pt", "fr"), "pt"),
    ("português", ("pt", "fr"), "pt"),
    ("inglês", ("en", "pt"), "en"),
    ("de", ("en", "de"), "de"),  # a language that is not built in, by its code
    ("deutsch", ("en", "de"), None),
    ("french", ("en", "es"), None),  # not offered
    ("fr", ("en", "es"), None),
]


@pytest.mark.parametrize(("reply", "offered", "code"), LANGUAGE_OF_CASES)
def test_language_of(reply, offered, code):
    assert language_of(normalise(reply), offered) == code


def test_language_names_are_their_own():
    assert LANGUAGE_NAMES == {
        "en": "English", "es": "Español", "fr": "Français", "pt": "Português",
    }  # fmt: skip


def fields(template):
    """The `{placeholders}` of a text."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_text_is_translated_with_the_same_placeholders(language):
    english = TEXTS["en"]
    assert TEXTS[language].keys() == english.keys()
    for name, template in TEXTS[language].items():
        assert fields(template) == fields(english[name]), name
        assert template != english[name] or name in SAME_WORDS, name


SAME_WORDS = {"choice_one", "shown_no"}  # "Please reply with 1." aside, Spanish "No" is "No"


TEXT_CASES = [
    ("help", "es", {"name": "Visita"}, "Visita: una encuesta por SMS. Responde PARAR para darte "
     "de baja, ATRAS para cambiar tu última respuesta, REINICIAR para empezar de nuevo."),
    ("did_you_mean", "fr", {"label": "Poire"}, 'Vouliez-vous dire "Poire" ? Répondez OUI ou NON.'),
    ("did_you_mean", "en", {"label": "Satisfied"}, 'Did you mean "Satisfied"? Reply YES or NO.'),
    ("already_completed", "pt", {"name": "Visita"}, "Você já respondeu Visita. Obrigado!"),
    ("move_on", "de", {}, "Let's move on."),  # a language without texts: English
    ("opted_out", "es", {}, "Te has dado de baja y no recibirás más mensajes. "
     "Responde COMENZAR para suscribirte de nuevo."),
]  # fmt: skip


@pytest.mark.parametrize(("name", "language", "values", "expected"), TEXT_CASES)
def test_text(name, language, values, expected):
    assert text(name, language, **values) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_name_command_words_of_their_language(language):
    """The command words a text tells people to send are read as those commands."""
    shown = {"help": "opt_out", "opted_in": "opt_out", "opted_out": "opt_in"}
    for name, command in shown.items():
        upper = [w.strip(".,") for w in text(name, language, name="X").split() if w.isupper()]
        assert any(command_of(normalise(w), [language]) == command for w in upper), name


def test_keywords_text():
    offers = [("FEEDBACK", "Visit feedback"), ("CITY", "City survey")]
    assert (
        keywords_text(offers, "en") == "Text FEEDBACK for Visit feedback, or CITY for City survey."
    )
    assert keywords_text(offers[:1], "es") == "Envía FEEDBACK para Visit feedback."


CARDINAL_CASES = [
    ("en", "zero", 0),
    ("en", "seventeen", 17),
    ("en", "ninety nine", 99),
    ("en", "nine hundred ninety nine", 999),
    ("en", "one thousand two hundred and thirty four", 1234),
    ("en", "twenty thousand", 20000),
    ("en", "five six", None),
    ("en", "hundred hundred", None),
    ("es", "novecientos noventa y nueve", 999),
    ("es", "veintiuno", 21),
    ("es", "setecientas", 700),
    ("es", "treinta y un mil", 31000),
    ("es", "diez y seis", None),
    ("fr", "quatre vingt dix sept", 97),
    ("fr", "soixante treize", 73),
    ("fr", "neuf cent quatre vingt dix neuf", 999),
    ("fr", "mille neuf cent", 1900),
    ("pt", "novecentos e noventa e nove", 999),
    ("pt", "trezentos e um", 301),
    ("pt", "duas mil", 2000),
    ("pt", "cinco e seis", None),
]


@pytest.mark.parametrize(("language", "phrase", "number"), CARDINAL_CASES)
def test_cardinal(language, phrase, number):
    assert cardinal(phrase, words_for(language)) == number


def test_a_language_not_built_in_reads_english_words():
    assert words_for("de") is words_for("en")
