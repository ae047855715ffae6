"""Reading replies in Spanish, French and Portuguese sessions (SPEC sections 2 and 7).

Each question is as a session in that language sees it: its labels and aliases are that
language's, its values the same in every language.
"""

import re
from datetime import date

import pytest

from bot.model import Choice, Question
from bot.replies import Invalid, near_miss, read_reply
from bot.templates import Text

TODAY = date(2026, 11, 27)  # a Friday
BAD = Invalid


def question(id, type, **keys):
    """A question as the survey loader would build it."""
    return Question(id=id, type=type, text=Text.compile("?"), **keys)


def choices(*pairs):
    """Choices from (label, value) pairs."""
    return tuple(Choice(label, value) for label, value in pairs)


def case(q, language, reply, expected):
    """One table row; dates in these languages are written day first."""
    return pytest.param(q, language, reply, expected, id=f"{language}:{q.id}:{reply!r}")


FRUTA = question(
    "fruta",
    "choice",
    choices=(
        Choice("Manzana", "apple"),
        Choice("Pera", "pear", ("peras",)),
        Choice("Plátano", "banana"),
    ),
)
SERVICIO = question(
    "servicio",
    "choice",
    choices=choices(
        ("Servicio completo", "full"),
        ("Reparación de pinchazo", "puncture"),
        ("Cambio de neumáticos", "tyres"),
    ),
)
BEBIDAS = question(
    "bebidas",
    "multi",
    choices=(
        Choice("Té", "tea"),
        Choice("Café", "coffee"),
        Choice("Jugo", "juice", ("zumo",)),
        Choice("Agua", "water"),
    ),
)
IMPORTE = question("importe", "number")
VECES = question("veces", "number", integer=True, min=1, max=365)
PUNTOS = question("puntos", "scale", min=0, max=10)
SI_NO = question("si_no", "yesno")
FECHA = question("fecha", "date")
PROXIMA = question("proxima", "date", min="today")

ES_CASES = [
    case(FRUTA, "es", "creo que 2", "pear"),  # issue 20: hedges, every choice, a dozen
    case(FRUTA, "es", "quizás 3", "banana"),
    case(FRUTA, "es", "creo que 4", BAD),
    case(BEBIDAS, "es", "todos", ["tea", "coffee", "juice", "water"]),
    case(BEBIDAS, "es", "Todas ellas", ["tea", "coffee", "juice", "water"]),
    case(BEBIDAS, "es", "todos menos el té", ["coffee", "juice", "water"]),
    case(IMPORTE, "es", "una docena", 12),
    case(IMPORTE, "es", "media docena", 6),
    case(FRUTA, "es", "1", "apple"),
    case(FRUTA, "es", "dos", "pear"),
    case(FRUTA, "es", "Dos", "pear"),
    case(FRUTA, "es", "la segunda", "pear"),
    case(FRUTA, "es", "segunda", "pear"),
    case(FRUTA, "es", "el segundo", "pear"),
    case(FRUTA, "es", "2º", "pear"),
    case(FRUTA, "es", "2ª", "pear"),
    case(FRUTA, "es", "2do", "pear"),
    case(FRUTA, "es", "opción 2", "pear"),
    case(FRUTA, "es", "opcion dos", "pear"),
    case(FRUTA, "es", "la opción 3", "banana"),
    case(FRUTA, "es", "tercera", "banana"),
    case(FRUTA, "es", "la tercera opción", "banana"),
    case(FRUTA, "es", "la última", "banana"),
    case(FRUTA, "es", "primera", "apple"),
    case(FRUTA, "es", "1ro", "apple"),
    case(FRUTA, "es", "Plátano", "banana"),
    case(FRUTA, "es", "platano", "banana"),  # accents ignored
    case(FRUTA, "es", "PLATANO", "banana"),
    case(FRUTA, "es", "peras", "pear"),
    case(FRUTA, "es", "pear", "pear"),  # the value, the same in every language
    case(FRUTA, "es", "una pera por favor", "pear"),
    case(FRUTA, "es", "quiero manzana", "apple"),
    case(FRUTA, "es", "Manzana 🍎", "apple"),
    case(FRUTA, "es", "🍎 manzana!", "apple"),
    case(FRUTA, "es", "la cuarta", BAD),
    case(FRUTA, "es", "cuatro", BAD),
    case(FRUTA, "es", "manzana o pera", BAD),
    case(FRUTA, "es", "no manzana", BAD),
    case(FRUTA, "es", "ninguna", BAD),
    case(FRUTA, "es", "fresa", BAD),
    case(FRUTA, "es", "0", BAD),
    case(SERVICIO, "es", "servicio", "full"),  # the first word of one label
    case(SERVICIO, "es", "reparacion", "puncture"),
    case(SERVICIO, "es", "cambio de neumaticos por favor", "tyres"),
    case(SERVICIO, "es", "cambio", "tyres"),
    case(SERVICIO, "es", "el servicio completo 🙂", "full"),
    case(SERVICIO, "es", "neumáticos", BAD),
    case(BEBIDAS, "es", "té y café", ["tea", "coffee"]),
    case(BEBIDAS, "es", "te y cafe", ["tea", "coffee"]),
    case(BEBIDAS, "es", "1 y 3", ["tea", "juice"]),
    case(BEBIDAS, "es", "1, 3", ["tea", "juice"]),
    case(BEBIDAS, "es", "2️⃣3️⃣", ["coffee", "juice"]),
    case(BEBIDAS, "es", "#1 #3", ["tea", "juice"]),
    case(BEBIDAS, "es", "zumo y agua", ["juice", "water"]),
    case(BEBIDAS, "es", "primera y tercera", ["tea", "juice"]),
    case(BEBIDAS, "es", "uno y dos", ["tea", "coffee"]),
    case(BEBIDAS, "es", "café, agua", ["coffee", "water"]),
    case(BEBIDAS, "es", "agua e té", ["tea", "water"]),
    case(BEBIDAS, "es", "leche", BAD),
    case(BEBIDAS, "es", "té, leche", BAD),
    case(BEBIDAS, "es", "1 y 5", BAD),
    *(
        case(SI_NO, "es", reply, True)
        for reply in (
            "sí", "si", "Sí", "SI", "¡Sí!", "claro", "claro que sí", "vale", "por supuesto",
            "sí, claro", "ok", "yes", "dale", "s", "correcto", "afirmativo", "👍",
        )
    ),
    *(
        case(SI_NO, "es", reply, False)
        for reply in ("no", "No.", "nop", "nunca", "para nada", "no, gracias", "negativo", "👎")
    ),
    *(
        case(SI_NO, "es", reply, BAD)
        for reply in ("quizás", "tal vez", "sí no", "1", "", "no sé")
    ),
    # A reply that starts with a yes or a no is that answer, unless its other words say
    # otherwise; letters typed over and over are the word.
    *(
        case(SI_NO, "es", reply, True)
        for reply in (
            "Sí, por favor", "sí, claro que sí", "Siii", "sii claro", "sí, no hay problema",
            "claro, ¿por qué no?", "Sí señor",
        )
    ),
    *(
        case(SI_NO, "es", reply, False)
        for reply in ("No, nunca", "No quiero", "no me interesa", "noo", "nop, gracias")
    ),
    *(
        case(SI_NO, "es", reply, BAD)
        for reply in (
            "sí pero no", "no... bueno sí", "no lo sé", "sí, no sé", "no estoy seguro",
            "sí, tal vez", "no hay problema", "no, parar", "sí ayuda",
        )
    ),
    case(IMPORTE, "es", "12,5", 12.5),
    case(IMPORTE, "es", "0,5", 0.5),
    case(IMPORTE, "es", "1.000", 1000),
    case(IMPORTE, "es", "1 000", 1000),
    case(IMPORTE, "es", "1.000,50", 1000.5),
    case(IMPORTE, "es", "1.234.567", 1234567),
    case(IMPORTE, "es", "-3", -3),
    case(IMPORTE, "es", "42", 42),
    case(IMPORTE, "es", "unos 40", 40),
    case(IMPORTE, "es", "40 €", 40),
    case(IMPORTE, "es", "cuarenta y cinco", 45),
    case(IMPORTE, "es", "cuarenta", 40),
    case(IMPORTE, "es", "dos", 2),
    case(IMPORTE, "es", "veintiséis", 26),
    case(IMPORTE, "es", "veintiseis", 26),
    case(IMPORTE, "es", "quince", 15),
    case(IMPORTE, "es", "ciento veinte", 120),
    case(IMPORTE, "es", "cien", 100),
    case(IMPORTE, "es", "doscientos", 200),
    case(IMPORTE, "es", "quinientos cincuenta", 550),
    case(IMPORTE, "es", "mil", 1000),
    case(IMPORTE, "es", "dos mil", 2000),
    case(IMPORTE, "es", "mil doscientos", 1200),
    case(IMPORTE, "es", "1k", 1000),
    case(IMPORTE, "es", "2,5k", 2500),
    case(IMPORTE, "es", "2 mil", 2000),
    case(IMPORTE, "es", "2 millones", 2000000),
    case(IMPORTE, "es", "dos millones", BAD),  # not read, so never stored as 2
    case(IMPORTE, "es", "1 billón", BAD),  # a larger unit than the bot reads: never 1
    case(IMPORTE, "es", "2 bn", BAD),
    case(IMPORTE, "es", "más de 10", BAD),  # a bound, not the number
    case(IMPORTE, "es", "menos de 5", BAD),
    case(IMPORTE, "es", "1,000", BAD),  # the mirror image: a decimal, or a thousand
    case(IMPORTE, "es", "1.5", BAD),
    case(IMPORTE, "es", "12.5", BAD),
    case(IMPORTE, "es", "doce o trece", BAD),
    case(IMPORTE, "es", "12 o 13", BAD),
    case(IMPORTE, "es", "5-6", BAD),
    case(IMPORTE, "es", "entre 10 y 20", BAD),
    case(IMPORTE, "es", "dos y medio", BAD),
    case(IMPORTE, "es", "muchos", BAD),
    case(IMPORTE, "es", "999.999.999.999.999", 999_999_999_999_999),  # 15 digits at most
    case(IMPORTE, "es", "1.000.000.000.000.000", BAD),
    case(VECES, "es", "12", 12),
    case(VECES, "es", "doce", 12),
    case(VECES, "es", "unas 40 veces", 40),
    case(VECES, "es", "12,5", BAD),
    case(VECES, "es", "1.000", BAD),
    case(VECES, "es", "cero", BAD),
    case(PUNTOS, "es", "7", 7),
    case(PUNTOS, "es", "siete", 7),
    case(PUNTOS, "es", "7/10", 7),
    case(PUNTOS, "es", "7 de 10", 7),
    case(PUNTOS, "es", "4,0", 4),
    case(PUNTOS, "es", "diez", 10),
    case(PUNTOS, "es", "un 8", 8),  # "un" before digits is an article: "an 8"
    case(PUNTOS, "es", "7,5", BAD),
    case(PUNTOS, "es", "once", BAD),
    case(PUNTOS, "es", "7 u 8", BAD),
    case(FECHA, "es", "hoy", date(2026, 11, 27)),
    case(FECHA, "es", "Hoy!", date(2026, 11, 27)),
    case(FECHA, "es", "ayer", date(2026, 11, 26)),
    case(FECHA, "es", "5 o 6 de noviembre", BAD),  # two days: never one of them
    case(FECHA, "es", "del 5 al 6 de noviembre", BAD),
    case(FECHA, "es", "viernes 13", date(2026, 11, 13)),  # the weekday and its day
    case(FECHA, "es", "anteayer", date(2026, 11, 25)),
    case(FECHA, "es", "fue ayer", date(2026, 11, 26)),
    case(FECHA, "es", "ayer por la mañana", date(2026, 11, 26)),
    case(FECHA, "es", "28 de noviembre", date(2026, 11, 28)),
    case(FECHA, "es", "28 de nov", date(2026, 11, 28)),
    case(FECHA, "es", "1 de diciembre de 2025", date(2025, 12, 1)),
    case(FECHA, "es", "3 de marzo", date(2026, 3, 3)),
    case(FECHA, "es", "15 de agosto", date(2026, 8, 15)),
    case(FECHA, "es", "27/11", date(2026, 11, 27)),
    case(FECHA, "es", "27/11/2026", date(2026, 11, 27)),
    case(FECHA, "es", "el 28", date(2026, 11, 28)),
    case(FECHA, "es", "el día 28", date(2026, 11, 28)),
    case(FECHA, "es", "el viernes", date(2026, 11, 20)),
    case(FECHA, "es", "viernes", date(2026, 11, 20)),
    case(FECHA, "es", "el martes pasado", date(2026, 11, 24)),
    case(FECHA, "es", "el próximo martes", date(2026, 12, 1)),
    case(FECHA, "es", "el miércoles", date(2026, 11, 25)),
    case(FECHA, "es", "hace 3 días", date(2026, 11, 24)),
    case(FECHA, "es", "hace tres días", date(2026, 11, 24)),
    case(FECHA, "es", "hace una semana", date(2026, 11, 20)),
    case(FECHA, "es", "hace 2 semanas", date(2026, 11, 13)),
    case(FECHA, "es", "el 31", BAD),
    case(FECHA, "es", "martes o miércoles", BAD),
    case(FECHA, "es", "11/27", BAD),
    case(FECHA, "es", "la semana pasada", BAD),
    case(FECHA, "es", "28", BAD),
    case(PROXIMA, "es", "el viernes", date(2026, 12, 4)),
    case(PROXIMA, "es", "mañana", date(2026, 11, 28)),
    case(PROXIMA, "es", "ayer", BAD),
]  # fmt: skip

FRUIT = question(
    "fruit",
    "choice",
    choices=choices(("Pomme", "apple"), ("Poire", "pear"), ("Banane", "banana")),
)
BOISSONS = question(
    "boissons",
    "multi",
    choices=choices(("Thé", "tea"), ("Café", "coffee"), ("Jus", "juice"), ("Eau", "water")),
)
MONTANT = question("montant", "number")
NOTE = question("note", "scale", min=0, max=10)
OUI_NON = question("oui_non", "yesno")
JOUR = question("jour", "date")

FR_CASES = [
    case(FRUIT, "fr", "je pense 2", "pear"),
    case(FRUIT, "fr", "peut-être 3", "banana"),
    case(BOISSONS, "fr", "tous", ["tea", "coffee", "juice", "water"]),
    case(BOISSONS, "fr", "toutes", ["tea", "coffee", "juice", "water"]),
    case(BOISSONS, "fr", "tout sauf le thé", ["coffee", "juice", "water"]),
    case(MONTANT, "fr", "environ une douzaine", 12),
    case(MONTANT, "fr", "une demi-douzaine", 6),
    case(FRUIT, "fr", "2", "pear"),
    case(FRUIT, "fr", "deux", "pear"),
    case(FRUIT, "fr", "la deuxième", "pear"),
    case(FRUIT, "fr", "deuxième", "pear"),
    case(FRUIT, "fr", "le deuxième", "pear"),
    case(FRUIT, "fr", "la seconde", "pear"),
    case(FRUIT, "fr", "2e", "pear"),
    case(FRUIT, "fr", "2ème", "pear"),
    case(FRUIT, "fr", "2eme", "pear"),
    case(FRUIT, "fr", "la 2e", "pear"),
    case(FRUIT, "fr", "option 2", "pear"),
    case(FRUIT, "fr", "numéro 2", "pear"),
    case(FRUIT, "fr", "la troisième", "banana"),
    case(FRUIT, "fr", "premier", "apple"),
    case(FRUIT, "fr", "première", "apple"),
    case(FRUIT, "fr", "1er", "apple"),
    case(FRUIT, "fr", "1re", "apple"),
    case(FRUIT, "fr", "la dernière", "banana"),
    case(FRUIT, "fr", "Poire", "pear"),
    case(FRUIT, "fr", "une poire s'il vous plaît", "pear"),
    case(FRUIT, "fr", "pomme 🍏", "apple"),
    case(FRUIT, "fr", "la banane!", "banana"),
    case(FRUIT, "fr", "pas de pomme", BAD),
    case(FRUIT, "fr", "quatrième", BAD),
    case(FRUIT, "fr", "pomme ou poire", BAD),
    case(FRUIT, "fr", "fraise", BAD),
    case(BOISSONS, "fr", "thé et café", ["tea", "coffee"]),
    case(BOISSONS, "fr", "the et cafe", ["tea", "coffee"]),
    case(BOISSONS, "fr", "1 et 3", ["tea", "juice"]),
    case(BOISSONS, "fr", "jus, eau", ["juice", "water"]),
    case(BOISSONS, "fr", "2️⃣3️⃣", ["coffee", "juice"]),
    case(BOISSONS, "fr", "#1 #3", ["tea", "juice"]),
    case(BOISSONS, "fr", "un et deux", ["tea", "coffee"]),
    case(BOISSONS, "fr", "lait", BAD),
    case(BOISSONS, "fr", "thé, lait", BAD),
    *(
        case(OUI_NON, "fr", reply, True)
        for reply in (
            "oui", "Oui!", "OUI", "ouais", "d'accord", "bien sûr", "bien sur", "ok",
            "tout à fait", "si", "exact", "yes",
        )
    ),
    *(
        case(OUI_NON, "fr", reply, False)
        for reply in ("non", "Non merci", "non, merci", "jamais", "pas du tout", "nan", "no")
    ),
    *(case(OUI_NON, "fr", reply, BAD) for reply in ("peut-être", "oui non", "je sais pas", "")),
    *(
        case(OUI_NON, "fr", reply, True)
        for reply in ("oui, bien sûr", "Ouiii", "oui, pas de problème", "oui pourquoi pas")
    ),
    *(case(OUI_NON, "fr", reply, False) for reply in ("non, jamais", "nonn", "Non, pas du tout")),
    *(
        case(OUI_NON, "fr", reply, BAD)
        for reply in (
            "oui mais non", "non je sais pas", "oui peut-être", "pas de problème",
            "oui, je ne veux pas",
        )
    ),
    case(MONTANT, "fr", "12,5", 12.5),
    case(MONTANT, "fr", "1 000", 1000),
    case(MONTANT, "fr", "1\u202f000", 1000),  # a narrow no-break space, as phones group digits
    case(MONTANT, "fr", "1.000", 1000),
    case(MONTANT, "fr", "1 000,50", 1000.5),
    case(MONTANT, "fr", "999 999 999 999 999", 999_999_999_999_999),  # 15 digits at most
    case(MONTANT, "fr", "1 000 000 000 000 000", BAD),
    case(MONTANT, "fr", "environ 40", 40),
    case(MONTANT, "fr", "2 milliards", BAD),  # a larger unit than the bot reads: never 2
    case(MONTANT, "fr", "deux milliards", BAD),
    case(MONTANT, "fr", "plus de 10", BAD),  # a bound, not the number
    case(MONTANT, "fr", "moins de 5", BAD),
    case(MONTANT, "fr", "40 €", 40),
    case(MONTANT, "fr", "quarante-cinq", 45),
    case(MONTANT, "fr", "quarante cinq", 45),
    case(MONTANT, "fr", "vingt et un", 21),
    case(MONTANT, "fr", "vingt-et-un", 21),
    case(MONTANT, "fr", "dix-sept", 17),
    case(MONTANT, "fr", "soixante-dix", 70),
    case(MONTANT, "fr", "soixante et onze", 71),
    case(MONTANT, "fr", "soixante-dix-sept", 77),
    case(MONTANT, "fr", "quatre-vingts", 80),
    case(MONTANT, "fr", "quatre-vingt-un", 81),
    case(MONTANT, "fr", "quatre-vingt-dix-neuf", 99),
    case(MONTANT, "fr", "septante", 70),
    case(MONTANT, "fr", "nonante-cinq", 95),
    case(MONTANT, "fr", "cent", 100),
    case(MONTANT, "fr", "deux cents", 200),
    case(MONTANT, "fr", "deux cent cinquante", 250),
    case(MONTANT, "fr", "mille", 1000),
    case(MONTANT, "fr", "deux mille", 2000),
    case(MONTANT, "fr", "1k", 1000),
    case(MONTANT, "fr", "1,000", BAD),
    case(MONTANT, "fr", "1.5", BAD),
    case(MONTANT, "fr", "12 ou 13", BAD),
    case(MONTANT, "fr", "deux ou trois", BAD),
    case(MONTANT, "fr", "deux et demi", BAD),
    case(MONTANT, "fr", "beaucoup", BAD),
    case(NOTE, "fr", "7", 7),
    case(NOTE, "fr", "7 sur 10", 7),
    case(NOTE, "fr", "7/10", 7),
    case(NOTE, "fr", "sept", 7),
    case(NOTE, "fr", "4,0", 4),
    case(NOTE, "fr", "dix", 10),
    case(NOTE, "fr", "un 8", 8),
    case(NOTE, "fr", "onze", BAD),
    case(NOTE, "fr", "7,5", BAD),
    case(JOUR, "fr", "aujourd'hui", date(2026, 11, 27)),
    case(JOUR, "fr", "aujourd’hui", date(2026, 11, 27)),
    case(JOUR, "fr", "Aujourd'hui.", date(2026, 11, 27)),
    case(JOUR, "fr", "hier", date(2026, 11, 26)),
    case(JOUR, "fr", "avant-hier", date(2026, 11, 25)),
    case(JOUR, "fr", "c'était hier", date(2026, 11, 26)),
    case(JOUR, "fr", "le 28 novembre", date(2026, 11, 28)),
    case(JOUR, "fr", "28 novembre", date(2026, 11, 28)),
    case(JOUR, "fr", "le 1er décembre", date(2026, 12, 1)),
    case(JOUR, "fr", "1er déc", date(2026, 12, 1)),
    case(JOUR, "fr", "14 juillet 2025", date(2025, 7, 14)),
    case(JOUR, "fr", "15 août", date(2026, 8, 15)),
    case(JOUR, "fr", "3 février", date(2026, 2, 3)),
    case(JOUR, "fr", "27/11", date(2026, 11, 27)),
    case(JOUR, "fr", "27.11.2026", date(2026, 11, 27)),
    case(JOUR, "fr", "le 28", date(2026, 11, 28)),
    case(JOUR, "fr", "vendredi", date(2026, 11, 20)),
    case(JOUR, "fr", "vendredi dernier", date(2026, 11, 20)),
    case(JOUR, "fr", "mardi dernier", date(2026, 11, 24)),
    case(JOUR, "fr", "mardi prochain", date(2026, 12, 1)),
    case(JOUR, "fr", "il y a 3 jours", date(2026, 11, 24)),
    case(JOUR, "fr", "il y a trois jours", date(2026, 11, 24)),
    case(JOUR, "fr", "il y a une semaine", date(2026, 11, 20)),
    case(JOUR, "fr", "le 31", BAD),
    case(JOUR, "fr", "la semaine dernière", BAD),
    case(JOUR, "fr", "mardi ou mercredi", BAD),
    case(JOUR, "fr", "11/27", BAD),
]  # fmt: skip

FRUTA_PT = question(
    "fruta_pt",
    "choice",
    choices=choices(("Maçã", "apple"), ("Pera", "pear"), ("Banana", "banana")),
)
BEBIDAS_PT = question(
    "bebidas_pt",
    "multi",
    choices=choices(("Chá", "tea"), ("Café", "coffee"), ("Suco", "juice"), ("Água", "water")),
)
VALOR = question("valor", "number")
NOTA = question("nota", "scale", min=0, max=10)
SIM_NAO = question("sim_nao", "yesno")
DIA = question("dia", "date")

PT_CASES = [
    case(FRUTA_PT, "pt", "acho que 2", "pear"),
    case(FRUTA_PT, "pt", "talvez 3", "banana"),
    case(BEBIDAS_PT, "pt", "todos", ["tea", "coffee", "juice", "water"]),
    case(BEBIDAS_PT, "pt", "tudo", ["tea", "coffee", "juice", "water"]),
    case(BEBIDAS_PT, "pt", "todos menos o chá", ["coffee", "juice", "water"]),
    case(VALOR, "pt", "uma dúzia", 12),
    case(VALOR, "pt", "meia dúzia", 6),
    case(FRUTA_PT, "pt", "2", "pear"),
    case(FRUTA_PT, "pt", "dois", "pear"),
    case(FRUTA_PT, "pt", "duas", "pear"),
    case(FRUTA_PT, "pt", "a segunda", "pear"),
    case(FRUTA_PT, "pt", "segunda", "pear"),
    case(FRUTA_PT, "pt", "segunda opção", "pear"),
    case(FRUTA_PT, "pt", "2º", "pear"),
    case(FRUTA_PT, "pt", "2ª", "pear"),
    case(FRUTA_PT, "pt", "opção 2", "pear"),
    case(FRUTA_PT, "pt", "opcao 2", "pear"),
    case(FRUTA_PT, "pt", "número 2", "pear"),
    case(FRUTA_PT, "pt", "a terceira", "banana"),
    case(FRUTA_PT, "pt", "terceiro", "banana"),
    case(FRUTA_PT, "pt", "a primeira", "apple"),
    case(FRUTA_PT, "pt", "a última", "banana"),
    case(FRUTA_PT, "pt", "maca", "apple"),
    case(FRUTA_PT, "pt", "maçã", "apple"),
    case(FRUTA_PT, "pt", "MAÇÃ", "apple"),
    case(FRUTA_PT, "pt", "uma pera por favor", "pear"),
    case(FRUTA_PT, "pt", "quero banana 🍌", "banana"),
    case(FRUTA_PT, "pt", "quarta", BAD),
    case(FRUTA_PT, "pt", "não quero maçã", BAD),
    case(FRUTA_PT, "pt", "maçã ou pera", BAD),
    case(FRUTA_PT, "pt", "morango", BAD),
    case(BEBIDAS_PT, "pt", "chá e café", ["tea", "coffee"]),
    case(BEBIDAS_PT, "pt", "cha e cafe", ["tea", "coffee"]),
    case(BEBIDAS_PT, "pt", "1 e 3", ["tea", "juice"]),
    case(BEBIDAS_PT, "pt", "suco, água", ["juice", "water"]),
    case(BEBIDAS_PT, "pt", "2️⃣3️⃣", ["coffee", "juice"]),
    case(BEBIDAS_PT, "pt", "#1 #3", ["tea", "juice"]),
    case(BEBIDAS_PT, "pt", "um e quatro", ["tea", "water"]),
    case(BEBIDAS_PT, "pt", "leite", BAD),
    case(BEBIDAS_PT, "pt", "1 e 7", BAD),
    *(
        case(SIM_NAO, "pt", reply, True)
        for reply in (
            "sim", "Sim!", "SIM", "s", "claro", "com certeza", "ok", "pode", "beleza", "certo",
            "yes",
        )
    ),
    *(
        case(SIM_NAO, "pt", reply, False)
        for reply in ("não", "nao", "Não, obrigado", "não obrigada", "nunca", "de jeito nenhum",
                      "n", "no")
    ),
    *(case(SIM_NAO, "pt", reply, BAD) for reply in ("talvez", "sim não", "sei lá", "2")),
    *(
        case(SIM_NAO, "pt", reply, True)
        for reply in ("sim, claro", "Simm", "sim, com certeza", "pode sim", "isso mesmo",
                      "sim, não tem problema")
    ),
    *(case(SIM_NAO, "pt", reply, False) for reply in ("não quero", "Não, nunca", "nãoo")),
    *(
        case(SIM_NAO, "pt", reply, BAD)
        for reply in ("não sei", "pode ser", "sim, talvez", "não tem problema", "sim mas não")
    ),
    case(VALOR, "pt", "12,5", 12.5),
    case(VALOR, "pt", "1.000", 1000),
    case(VALOR, "pt", "1 000", 1000),
    case(VALOR, "pt", "2 bilhões", BAD),  # a larger unit than the bot reads: never 2
    case(VALOR, "pt", "dois bilhões", BAD),
    case(VALOR, "pt", "mais de 10", BAD),  # a bound, not the number
    case(VALOR, "pt", "menos de 5", BAD),
    case(VALOR, "pt", "R$ 1.500,00", 1500.0),
    case(VALOR, "pt", "999.999.999.999.999,5", 999_999_999_999_999.5),  # 15 digits at most
    case(VALOR, "pt", "R$ 1.000.000.000.000.000", BAD),
    case(VALOR, "pt", "uns 40", 40),
    case(VALOR, "pt", "cerca de 40", 40),
    case(VALOR, "pt", "quarenta e cinco", 45),
    case(VALOR, "pt", "vinte e um", 21),
    case(VALOR, "pt", "dezesseis", 16),
    case(VALOR, "pt", "dezasseis", 16),
    case(VALOR, "pt", "catorze", 14),
    case(VALOR, "pt", "quatorze", 14),
    case(VALOR, "pt", "três", 3),
    case(VALOR, "pt", "tres", 3),
    case(VALOR, "pt", "cem", 100),
    case(VALOR, "pt", "cento e vinte e três", 123),
    case(VALOR, "pt", "duzentos", 200),
    case(VALOR, "pt", "quinhentos e cinquenta", 550),
    case(VALOR, "pt", "mil", 1000),
    case(VALOR, "pt", "mil e quinhentos", 1500),
    case(VALOR, "pt", "dois mil", 2000),
    case(VALOR, "pt", "2,5k", 2500),
    case(VALOR, "pt", "1,000", BAD),
    case(VALOR, "pt", "1.5", BAD),
    case(VALOR, "pt", "dois e meio", BAD),
    case(VALOR, "pt", "12 ou 13", BAD),
    case(VALOR, "pt", "muitos", BAD),
    case(NOTA, "pt", "7", 7),
    case(NOTA, "pt", "7 de 10", 7),
    case(NOTA, "pt", "sete", 7),
    case(NOTA, "pt", "4,0", 4),
    case(NOTA, "pt", "dez", 10),
    case(NOTA, "pt", "um 8", 8),
    case(NOTA, "pt", "uma 8", 8),
    case(NOTA, "pt", "onze", BAD),
    case(NOTA, "pt", "7,5", BAD),
    case(DIA, "pt", "hoje", date(2026, 11, 27)),
    case(DIA, "pt", "ontem", date(2026, 11, 26)),
    case(DIA, "pt", "anteontem", date(2026, 11, 25)),
    case(DIA, "pt", "foi ontem", date(2026, 11, 26)),
    case(DIA, "pt", "28 de novembro", date(2026, 11, 28)),
    case(DIA, "pt", "1 de dezembro de 2025", date(2025, 12, 1)),
    case(DIA, "pt", "7 de setembro", date(2026, 9, 7)),
    case(DIA, "pt", "3 de março", date(2026, 3, 3)),
    case(DIA, "pt", "27/11", date(2026, 11, 27)),
    case(DIA, "pt", "dia 28", date(2026, 11, 28)),
    case(DIA, "pt", "no dia 5", date(2026, 11, 5)),
    case(DIA, "pt", "sexta", date(2026, 11, 20)),
    case(DIA, "pt", "sexta-feira", date(2026, 11, 20)),
    case(DIA, "pt", "terça passada", date(2026, 11, 24)),
    case(DIA, "pt", "na terça-feira passada", date(2026, 11, 24)),
    case(DIA, "pt", "próxima terça", date(2026, 12, 1)),
    case(DIA, "pt", "sábado", date(2026, 11, 21)),
    case(DIA, "pt", "há 3 dias", date(2026, 11, 24)),
    case(DIA, "pt", "ha 3 dias", date(2026, 11, 24)),
    case(DIA, "pt", "faz três dias", date(2026, 11, 24)),
    case(DIA, "pt", "3 dias atrás", date(2026, 11, 24)),
    case(DIA, "pt", "há uma semana", date(2026, 11, 20)),
    case(DIA, "pt", "dia 31", BAD),
    case(DIA, "pt", "terça ou quarta", BAD),
    case(DIA, "pt", "semana passada", BAD),
]  # fmt: skip

LANGS = question(
    "lang",
    "language",
    choices=choices(("English", "en"), ("Español", "es"), ("Français", "fr")),
)
UNKNOWN = question("unknown", "choice", choices=choices(("Apfel", "apple"), ("Birne", "pear")))

OTHER_CASES = [
    *(
        case(LANGS, language, reply, expected)
        for language in ("en", "es")
        for reply, expected in (
            ("1", "en"), ("2", "es"), ("Español", "es"), ("espanol", "es"), ("spanish", "es"),
            ("espagnol", "es"), ("castellano", "es"), ("es", "es"), ("ES", "es"),
            ("français", "fr"), ("francais", "fr"), ("french", "fr"), ("francés", "fr"),
            ("FR", "fr"), ("inglés", "en"), ("anglais", "en"), ("english", "en"),
            ("portugues", BAD), ("pt", BAD), ("4", BAD), ("de", BAD), ("", BAD),
        )
    ),
    # A language without built-in words: digits, labels and aliases, and English words.
    case(UNKNOWN, "de", "2", "pear"),
    case(UNKNOWN, "de", "Birne", "pear"),
    case(UNKNOWN, "de", "two", "pear"),
    case(UNKNOWN, "de", "zwei", BAD),
    case(SI_NO, "de", "yes", True),
    case(SI_NO, "de", "ja", BAD),
    case(IMPORTE, "de", "1,000", 1000),
    case(FECHA, "de", "yesterday", date(2026, 11, 26)),
    # A session's words are its own: Spanish number words are not read in French.
    case(MONTANT, "fr", "cuarenta", BAD),
    case(IMPORTE, "es", "forty", BAD),
]  # fmt: skip

ALL_CASES = ES_CASES + FR_CASES + PT_CASES + OTHER_CASES


def beside(q, language, read, expected, refused):
    """A reply read as `expected`, and one with a weekday beside its date that is asked again."""
    return pytest.param(q, language, read, expected, refused, id=f"{language}:{q.id}:{refused!r}")


# A weekday beside a written date must be the date's (TODAY is Friday 27 November 2026;
# the 24th is a Tuesday, the 25th a Wednesday); alone, each reads as before.
WEEKDAY_BESIDE_A_DATE = [
    beside(FECHA, "es", "miércoles 25 de noviembre", date(2026, 11, 25), "martes 25 de noviembre"),
    beside(FECHA, "es", "el martes, 24/11/2026", date(2026, 11, 24), "el lunes, 24/11/2026"),
    beside(FECHA, "es", "martes día 24 de noviembre", date(2026, 11, 24),
           "jueves día 24 de noviembre"),
    beside(FECHA, "es", "sábado 21/11", date(2026, 11, 21), "domingo 21/11"),
    beside(FECHA, "es", "martes 2026-11-24", date(2026, 11, 24), "miércoles 2026-11-24"),
    beside(FECHA, "es", "24 de nov, martes", date(2026, 11, 24), "24 de nov, sabado"),
    beside(FECHA, "es", "wed 25/11", date(2026, 11, 25), "tue 25/11"),  # and English
    beside(FECHA, "es", "martes", date(2026, 11, 24), "martes 25/11"),
    beside(FECHA, "es", "25 de noviembre", date(2026, 11, 25), "martes 25 de noviembre"),
    beside(FECHA, "es", "mar 25", date(2026, 3, 25), "martes 25 de marzo"),  # mar: March
    beside(JOUR, "fr", "mercredi 25 novembre", date(2026, 11, 25), "mardi 25 novembre"),
    beside(JOUR, "fr", "le mardi 24/11", date(2026, 11, 24), "le jeudi 24/11"),
    beside(JOUR, "fr", "mardi le 24 novembre 2026", date(2026, 11, 24),
           "mercredi le 24 novembre 2026"),
    beside(JOUR, "fr", "2026-11-24, mardi", date(2026, 11, 24), "2026-11-24, lundi"),
    beside(JOUR, "fr", "vendredi", date(2026, 11, 20), "vendredi 25/11"),
    beside(JOUR, "fr", "25/11 mon anniversaire", date(2026, 11, 25), "25/11 mardi"),  # "my"
    beside(DIA, "pt", "quarta-feira, 25 de novembro", date(2026, 11, 25),
           "terça-feira, 25 de novembro"),
    beside(DIA, "pt", "terça 24/11", date(2026, 11, 24), "quinta 24/11"),
    beside(DIA, "pt", "sexta feira 27/11/2026", date(2026, 11, 27), "sábado 27/11/2026"),
    beside(DIA, "pt", "24/11, terça-feira", date(2026, 11, 24), "24/11, segunda-feira"),
    beside(DIA, "pt", "terça, dia 24 de novembro", date(2026, 11, 24),
           "quarta, dia 24 de novembro"),
    beside(DIA, "pt", "terça 2026-11-24", date(2026, 11, 24), "quarta 2026-11-24"),
    beside(DIA, "pt", "sexta", date(2026, 11, 20), "sexta 25/11"),
    beside(DIA, "pt", "a segunda consulta foi 25/11", date(2026, 11, 25), "segunda 25/11"),
    # A language not built in reads English words.
    beside(FECHA, "de", "wednesday 25/11", date(2026, 11, 25), "tuesday 25/11"),
]  # fmt: skip


@pytest.mark.parametrize(("q", "language", "read", "expected", "refused"), WEEKDAY_BESIDE_A_DATE)
def test_a_weekday_beside_a_date_is_the_dates(q, language, read, expected, refused):
    got = read_reply(q, read, today=TODAY, date_order="DMY", language=language)
    assert got == expected
    got = read_reply(q, refused, today=TODAY, date_order="DMY", language=language)
    assert isinstance(got, Invalid), got


@pytest.mark.parametrize(("q", "language", "reply", "expected"), ALL_CASES)
def test_read_reply(q, language, reply, expected):
    got = read_reply(q, reply, today=TODAY, date_order="DMY", language=language)
    if expected is BAD:
        assert isinstance(got, Invalid), got
    else:
        assert got == expected
        assert type(got) is type(expected)


REASON_CASES = [
    (FRUTA, "es", "fresa", "Por favor, responde con un número del 1 al 3."),
    (SI_NO, "es", "quizás", "Por favor, responde SI o NO."),
    (SI_NO, "es", "sí pero no", "Por favor, responde SI o NO."),
    (VECES, "es", "400", "Por favor, responde con un número entero del 1 al 365."),
    (IMPORTE, "es", "1,000", "Por favor, responde con un solo número, como 42."),
    (IMPORTE, "es", "mucho", "Por favor, responde con un número, como 42."),
    (BEBIDAS, "es", "leche", "Por favor, responde con uno o más números del 1 al 4, como 1,3."),
    (FECHA, "es", "el 31", "Por favor, responde con una fecha, como 27/11/2026."),
    (PROXIMA, "es", "ayer",
     "Por favor, responde con una fecha desde el 27/11/2026, como 27/11/2026."),
    (FRUIT, "fr", "fraise", "Merci de répondre par un nombre de 1 à 3."),
    (OUI_NON, "fr", "peut-être", "Merci de répondre OUI ou NON."),
    (NOTE, "fr", "7,5", "Merci de répondre par un nombre entier de 0 à 10."),
    (MONTANT, "fr", "12 ou 13", "Merci de répondre par un seul nombre, comme 42."),
    (JOUR, "fr", "le 31", "Merci de répondre par une date, comme 27/11/2026."),
    (FRUTA_PT, "pt", "morango", "Por favor, responda com um número de 1 a 3."),
    (SIM_NAO, "pt", "talvez", "Por favor, responda SIM ou NÃO."),
    (NOTA, "pt", "onze", "Por favor, responda com um número inteiro de 0 a 10."),
    (VALOR, "pt", "1,000", "Por favor, responda com apenas um número, como 42."),
    (VALOR, "pt", "1" + "0" * 309, "Por favor, responda com um número de até 15 dígitos, como 42."),
    (IMPORTE, "es", "1" + "0" * 309 + ",5",
     "Por favor, responde con un número de hasta 15 cifras, como 42."),
    (MONTANT, "fr", "-1" + "0" * 20,
     "Merci de répondre par un nombre de 15 chiffres au plus, comme 42."),
    (DIA, "pt", "dia 31", "Por favor, responda com uma data, como 27/11/2026."),
    (FECHA, "es", "martes 25 de noviembre", "Por favor, responde con una fecha, como 27/11/2026."),
    (JOUR, "fr", "mardi 25 novembre", "Merci de répondre par une date, comme 27/11/2026."),
    (DIA, "pt", "terça-feira, 25/11", "Por favor, responda com uma data, como 27/11/2026."),
    (UNKNOWN, "de", "zwei", "Please reply with a number from 1 to 2."),
    (question("halb", "number", min=0.5), "es", "0,1",
     "Por favor, responde con un número de 0,5 o más, como 42."),
    (question("name", "text", max_length=5), "fr", "trop long",
     "Merci de répondre en 5 caractères au plus."),
    (question("name", "text"), "pt", " ", "Por favor, escreva sua resposta com palavras."),
]  # fmt: skip


@pytest.mark.parametrize(("q", "language", "reply", "reason"), REASON_CASES)
def test_reason(q, language, reply, reason):
    got = read_reply(q, reply, today=TODAY, date_order="DMY", language=language)
    assert got == Invalid(reason)


# The example a reason gives: "como 42", "comme 1,3", "de 1 à 3", "SI o NO".
EXAMPLE = re.compile(r"(?:como|comme) (\d[\d,/]*\d|\d)|(?:del|de) (\d+) (?:al|à|a) |(SI|OUI|SIM) ")
INVALID_CASES = [c for c in ES_CASES + FR_CASES + PT_CASES if c.values[3] is BAD]
INVALID_CASES += [
    case(p.values[0], p.values[1], p.values[4], BAD)
    for p in WEEKDAY_BESIDE_A_DATE
    if p.values[1] != "de"  # the texts of a language not built in are English
]


@pytest.mark.parametrize(("q", "language", "reply", "expected"), INVALID_CASES)
def test_every_reason_is_in_the_session_language_with_a_valid_reply(q, language, reply, expected):
    got = read_reply(q, reply, today=TODAY, date_order="DMY", language=language)
    assert re.fullmatch(r"(Por favor, |Merci )[^\n]{5,90}\.", got.reason), got.reason
    found = EXAMPLE.search(got.reason)
    assert found, f"no example reply in {got.reason!r}"
    example = next(group for group in found.groups() if group)
    valid = read_reply(q, example, today=TODAY, date_order="DMY", language=language)
    assert not isinstance(valid, Invalid), (example, valid)


NEAR_MISS_CASES = [
    (FRUTA, "es", "Manzanna", "Manzana"),
    (FRUTA, "es", "plantano", "Plátano"),
    (FRUTA, "es", "pere", None),  # four letters: exact only
    (FRUIT, "fr", "bananne", "Banane"),
    (FRUTA_PT, "pt", "bananna", "Banana"),
    (BEBIDAS_PT, "pt", "cafe", None),  # multi questions have no confirmation
]


@pytest.mark.parametrize(("q", "language", "reply", "label"), NEAR_MISS_CASES)
def test_near_miss(q, language, reply, label):
    found = near_miss(q, reply, language)
    assert (found and found.label) == label
