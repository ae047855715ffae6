"""The built-in languages' words as the bot reads them (SPEC section 7), as plain data.

The bot's own outgoing texts are in `bot/texts.py`.

Every word table is keyed by the word as matched: case folded, accents dropped (`plain`), so
`ATRÁS`, `atrás` and `atras` are one word. Lookups for a language that is not built in fall
back to English.

Command words, whole messages only (accents and case ignored), by command and language:

| command | en | es | fr | pt |
| --- | --- | --- | --- | --- |
| opt_out | STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT | PARAR, CANCELAR, |
|         |   DETENER | ARRET, ARRETER, DESABONNER, DESINSCRIRE | PARAR, SAIR, CANCELAR |
| opt_in  | START, UNSTOP | COMENZAR, INICIAR | COMMENCER | COMECAR, INICIAR |
| help    | HELP, INFO | AYUDA | AIDE | AJUDA |
| back    | BACK | ATRAS, VOLVER | RETOUR | VOLTAR |
| skip    | SKIP | SALTAR, OMITIR | PASSER | PULAR |
| restart | RESTART | REINICIAR | RECOMMENCER | REINICIAR |

Left out on purpose: BAJA and ALTA (Spanish for "low" and "high", everyday answers to a
choice, and an opt-out word wins over any answer), FIN (an answer too).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

ENGLISH = "en"
LANGUAGES = ("en", "es", "fr", "pt")  # built in: words and texts below
COMMANDS = ("opt_out", "opt_in", "help", "back", "skip", "restart")
ALWAYS = ("opt_out", "opt_in")  # commands read in every built-in language, in every survey

# --- accents ---------------------------------------------------------------------------------

_MARKS = re.compile("[\u0300-\u036f]+")  # combining accents of Latin letters only


def plain(text: str) -> str:
    """Drop the accents of Latin letters (`atrás` is `atras`); other scripts stay as written."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))


def _words(text: str) -> frozenset[str]:
    """A set of words from one space-separated string, as matched: plain and case folded."""
    return frozenset(plain(word.casefold()) for word in text.split())


# --- commands ----------------------------------------------------------------------------------

_COMMAND_WORDS = {
    "en": {
        "opt_out": "STOP STOPALL UNSUBSCRIBE CANCEL END QUIT REVOKE OPTOUT",
        "opt_in": "START UNSTOP",
        "help": "HELP INFO",
        "back": "BACK",
        "skip": "SKIP",
        "restart": "RESTART",
    },
    "es": {
        "opt_out": "PARAR CANCELAR DETENER",
        "opt_in": "COMENZAR INICIAR",
        "help": "AYUDA",
        "back": "ATRÁS VOLVER",
        "skip": "SALTAR OMITIR",
        "restart": "REINICIAR",
    },
    "fr": {
        "opt_out": "ARRÊT ARRÊTER DÉSABONNER DÉSINSCRIRE",
        "opt_in": "COMMENCER",
        "help": "AIDE",
        "back": "RETOUR",
        "skip": "PASSER",
        "restart": "RECOMMENCER",
    },
    "pt": {
        "opt_out": "PARAR SAIR CANCELAR",
        "opt_in": "COMEÇAR INICIAR",
        "help": "AJUDA",
        "back": "VOLTAR",
        "skip": "PULAR",
        "restart": "REINICIAR",
    },
}
COMMAND_WORDS: dict[str, dict[str, frozenset[str]]] = {
    language: {command: _words(words) for command, words in table.items()}
    for language, table in _COMMAND_WORDS.items()
}
# Twilio answers these itself (it blocks the number and confirms); the bot confirms the others.
TWILIO_OPT_OUT_WORDS = COMMAND_WORDS[ENGLISH]["opt_out"]
# Every command word of every built-in language: what a choice label or keyword must not be.
ALL_COMMAND_WORDS = frozenset().union(
    *(words for table in COMMAND_WORDS.values() for words in table.values())
)


def _commands_by_word() -> dict[str, dict[str, str]]:
    """Each command word to the command it is in each language that has it."""
    found: dict[str, dict[str, str]] = {}
    for language, table in COMMAND_WORDS.items():
        for command, words in table.items():
            for word in words:
                found.setdefault(word, {})[language] = command
    return found


_COMMANDS_BY_WORD = _commands_by_word()


def command_of(word: str, languages: tuple[str, ...] | list[str]) -> str | None:
    """The command a whole normalised message is in `languages`; opt-out/in in every language."""
    found = _COMMANDS_BY_WORD.get(plain(word))
    if found is None:  # most messages: an answer, in one look-up
        return None
    for language in languages:
        if language in found:
            return found[language]
    return next((command for command in found.values() if command in ALWAYS), None)


# --- yes/no, none, negation ------------------------------------------------------------------

_YES = {
    "en": "yes y yeah yea yep yup ya yah sure ok okay k kk correct right true affirmative "
    "absolutely definitely certainly 👍 ✅ ✔ why_not",
    "es": "sí si s claro vale dale ok okay correcto cierto verdadero desde_luego por_supuesto "
    "sí_claro si_claro claro_que_sí claro_que_si sip simón afirmativo por_qué_no",
    "fr": "oui si ouais ouai ok okay d'accord dac daccord bien_sûr bien_sur exact vrai "
    "carrément tout_à_fait ouep yep pourquoi_pas",
    "pt": "sim s claro certo ok okay pode positivo com_certeza isso é_sim verdade beleza uhum "
    "por_que_não",
}
_NO = {
    "en": "no n nope nah nay never negative false 👎 ❌ ✖",
    "es": "no n nop nel nunca negativo falso para_nada claro_que_no de_ninguna_manera no_gracias",
    "fr": "non n nan nope jamais faux pas_du_tout non_merci",
    "pt": "não nao n nunca negativo falso de_jeito_nenhum nem_pensar não_obrigado nao_obrigado "
    "não_obrigada nao_obrigada",
}
# Multi-word phrases that English already had; kept whole so "yes no" stays unread.
_YES_PHRASES_EN = (
    "yes please",
    "yes thanks",
    "yes thank you",
    "sure thing",
    "of course",
)
_NO_PHRASES_EN = (
    "no thanks",
    "no thank you",
    "not really",
    "no way",
    "not at all",
    "absolutely not",
    "definitely not",
    "certainly not",
    "of course not",
)
# A yes or no that starts a longer reply ("yes, definitely") is read unless the rest says
# otherwise; these phrases decide what the rest says.
_UNSURE = {  # anywhere in a reply: neither yes nor no, asked again ("yes, I think, not sure")
    "en": "not sure|unsure|not certain|no idea|no clue|don't know|dont know|do not know|dunno"
    "|idk|maybe|perhaps|possibly|depends|it depends|never mind|no comment|don't remember"
    "|can't remember",
    "es": "no sé|no lo sé|ni idea|quizás|quizá|tal vez|a lo mejor|no estoy seguro"
    "|no estoy segura|depende|no recuerdo|no me acuerdo",
    "fr": "sais pas|jsp|peut-être|pas sûr|pas sûre|aucune idée|ça dépend|bof",
    "pt": "não sei|sei lá|talvez|não tenho certeza|pode ser|depende|não lembro|não me lembro",
}
# Holding a negation, yet saying neither yes nor no: "no problem" answers "May we call?" with
# yes and "Any problems?" with no. Alone, asked again; beside a yes or a no, no contradiction.
_NEUTRAL = {
    "en": "no problem|no problems|no prob|no probs|no worries|no bother|no trouble"
    "|not a problem|no doubt",
    "es": "no hay problema|no hay problemas|no te preocupes|no se preocupe|no pasa nada",
    "fr": "pas de problème|pas de problèmes|pas de souci|pas de soucis",
    "pt": "não tem problema|não há problema|não se preocupe",
}
_NONE = {  # a multi reply meaning no pick, where the question allows none
    "en": "none|nothing|neither|0|none of them|none of these",
    "es": "ninguno|ninguna|nada|ninguno de ellos|0",
    "fr": "aucun|aucune|rien|0",
    "pt": "nenhum|nenhuma|nada|0",
}
_ALL = {  # a multi reply meaning every choice, where the question allows that many picks
    "en": "all|all of them|all of these|all of the above|everything|every one|each one|the lot",
    "es": "todos|todas|todo|todos ellos|todas ellas|todos los anteriores|todas las anteriores",
    "fr": "tous|toutes|tout|tous les trois|toutes les trois|tout ça|tout ca",
    "pt": "todos|todas|tudo|todos eles|todas elas|todos os anteriores|todas as anteriores",
}
_ALL_BUT = {  # between "all" and the choices left out of it: "all but tea"
    "en": "but|except|except for|apart from|other than|besides",
    "es": "menos|excepto|salvo|menos el|menos la",
    "fr": "sauf|à part|excepté|hormis",
    "pt": "menos|exceto|fora|tirando",
}
# A choice found inside a reply that also says one of these is not guessed, nor a yes that
# starts one ("sure, not now").
_NEGATION = {
    "en": "not no never neither nor cannot don't isn't wasn't didn't doesn't won't can't wouldn't"
    " couldn't shouldn't haven't hasn't aren't weren't ain't dont isnt wasnt didnt doesnt"
    " wont cant wouldnt couldnt shouldnt havent hasnt arent werent",
    "es": "no nunca ni tampoco",
    "fr": "ne pas non jamais ni",
    "pt": "não nao nunca nem",
}
_AND = {"en": "and", "es": "y e", "fr": "et", "pt": "e"}  # between several picks of a multi


def _phrases(text: str) -> frozenset[str]:
    """Words and `_`-joined phrases, as matched (a phrase's words separated by spaces)."""
    return frozenset(word.replace("_", " ") for word in _words(text))


# --- numbers -----------------------------------------------------------------------------------

_BELOW_20 = {
    "en": "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen",
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
    "quince dieciséis diecisiete dieciocho diecinueve",
    "fr": "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize dix-sept dix-huit dix-neuf",
    "pt": "zero um dois três quatro cinco seis sete oito nove dez onze doze treze catorze "
    "quinze dezesseis dezessete dezoito dezenove",
}
_TENS = {  # 20, 30 ... 90
    "en": "twenty thirty forty fifty sixty seventy eighty ninety",
    "es": "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa",
    "fr": "vingt trente quarante cinquante soixante soixante-dix quatre-vingt quatre-vingt-dix",
    "pt": "vinte trinta quarenta cinquenta sessenta setenta oitenta noventa",
}
_HUNDREDS = {  # 100, 200 ... 900; English and French build them from "hundred" and "cent"
    "es": "ciento doscientos trescientos cuatrocientos quinientos seiscientos setecientos "
    "ochocientos novecientos",
    "pt": "cento duzentos trezentos quatrocentos quinhentos seiscentos setecentos oitocentos "
    "novecentos",
}
_EXTRA_NUMBERS = {  # other spellings: feminine forms, regional and informal ones
    "en": {"hundred": 100},  # "a hundred": "a" is skipped as any other word
    "es": {"una": 1, "un": 1, "veintiuno": 21, "veintiún": 21, "veintiuna": 21, "veintidós": 22,
           "veintitrés": 23, "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26,
           "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "cien": 100,
           "doscientas": 200, "trescientas": 300, "cuatrocientas": 400, "quinientas": 500,
           "seiscientas": 600, "setecientas": 700, "ochocientas": 800, "novecientas": 900},
    "fr": {"une": 1, "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
           "quatre-vingts": 80, "cent": 100, "cents": 100},
    "pt": {"uma": 1, "duas": 2, "quatorze": 14, "dezasseis": 16, "dezassete": 17,
           "dezanove": 19, "cem": 100, "duzentas": 200, "trezentas": 300, "quatrocentas": 400,
           "quinhentas": 500, "seiscentas": 600, "setecentas": 700, "oitocentas": 800,
           "novecentas": 900},
}  # fmt: skip
_HUNDRED_WORD = {"en": "hundred", "fr": "cent cents"}  # "two hundred", "deux cents"
_THOUSAND_WORD = {"en": "thousand", "es": "mil", "fr": "mille mil", "pt": "mil"}
_MILLION_WORD = {"en": "million millions", "es": "millón millones",
                 "fr": "million millions", "pt": "milhão milhões"}  # fmt: skip
# Larger units than the bot reads, after a number: "2 billion", "2 milliards", "5 grand", and
# "2 mil" in English (2 million to some, 2,000 to a Spanish speaker). Asked again, never 2.
_UNREAD_SCALE = {
    "en": "billion billions trillion trillions bn bln mn mln mil mill grand lakh lakhs crore "
    "crores",
    "es": "billón billones millardo millardos",
    "fr": "milliard milliards billion billions",
    "pt": "bilhão bilhões bilião biliões trilhão trilhões",
}
# "a week ago", "un 8" (an 8): an article, read as one only where a number must be.
_ARTICLES = {"en": "a an", "es": "un una", "fr": "un une", "pt": "um uma"}
_DOZEN = {
    "en": "dozen",
    "es": "docena",
    "fr": "douzaine",
    "pt": "dúzia",
}  # "about a dozen" is 12, "half a dozen" 6, "2 dozen" 24
# A strict bound before a number, "more than 10": not the number, so asked again, never 10.
_BEYOND = {
    "en": "more than|less than|fewer than|greater than|over|under|above|below",
    "es": "más de|menos de|más que|menos que|por encima de|por debajo de",
    "fr": "plus de|moins de|plus que|moins que|au-dessus de|au-dessous de|en dessous de",
    "pt": "mais de|menos de|mais que|menos que|acima de|abaixo de",
}
_HALF = {"en": "half", "es": "medio media", "fr": "demi demie", "pt": "meio meia"}
_NUMBER_AND = {
    "en": "and",
    "es": "y",
    "fr": "et",
    "pt": "e",
}  # inside one number: "cuarenta y cinco"


def _below_100(language: str) -> dict[str, int]:
    """Every way of writing 0 to 99 in words, hyphens read as spaces."""
    table = {plain(w.replace("-", " ")): n for n, w in enumerate(_BELOW_20[language].split())}
    for word, number in _EXTRA_NUMBERS[language].items():
        if number < 100:
            table[plain(word.replace("-", " "))] = number
    conjunction = _NUMBER_AND[language]
    tens = {plain(w.replace("-", " ")): 20 + 10 * i for i, w in enumerate(_TENS[language].split())}
    tens |= {k: v for k, v in table.items() if v in (70, 80, 90)}  # septante, quatre-vingts
    small = {k: v for k, v in table.items() if 0 < v < 20}
    for ten_word, ten in tens.items():
        table[ten_word] = ten
        for unit_word, unit in small.items():
            # French adds 10 to 19 after soixante and quatre-vingt (soixante-treize is 73).
            if unit >= 10 and not (language == "fr" and ten in (60, 80)):
                continue
            table[f"{ten_word} {unit_word}"] = ten + unit
            table[f"{ten_word} {conjunction} {unit_word}"] = ten + unit
    return table


@dataclass(frozen=True, eq=False)  # one per language (words_for), compared by identity
class Words:
    """One language's words as matched, merged with English where both are read."""

    language: str
    yes: frozenset[str]
    no: frozenset[str]
    none: frozenset[str]
    unsure: frozenset[str]  # in a yes/no reply: neither, asked again
    neutral: frozenset[str]  # in a yes/no reply: no answer, nor a contradiction of one
    negation: frozenset[str]
    and_words: frozenset[str]
    below_100: dict[str, int]
    hundreds: dict[str, int]
    hundred_words: frozenset[str]
    thousand_words: frozenset[str]
    million_words: frozenset[str]
    unread_scales: frozenset[str]  # "2 billion", "5 grand": a number we do not read
    number_and: str
    half_words: frozenset[str]
    articles: frozenset[str]
    number_words: frozenset[str]  # every word a number written in words may hold
    ordinals: dict[str, int]
    ordinal_suffix: str  # a regex of what may follow the digits of an ordinal (2nd, 2º, 2e)
    choice_fillers: frozenset[str]
    all_picks: frozenset[str]  # a multi reply picking every choice
    all_but: frozenset[str]  # "all but tea": every choice except those named after it
    dozen_words: frozenset[str]
    beyond: frozenset[str]  # "more than", "menos de": a bound before a number, not the number
    months: dict[str, int]
    weekdays: dict[str, int]
    weekday_endings: frozenset[str]  # a word a weekday may be written with: "terça-feira"
    relative_days: dict[str, int]
    last_words: frozenset[str]
    next_words: frozenset[str]
    ago: tuple[str, ...]  # regexes where {n} is the number: "3 days ago", "hace 3 días"
    day_words: frozenset[str]
    week_words: frozenset[str]
    date_fillers: str  # a regex of words before a day: "the", "el", "le", "o dia"
    day_joins: str  # a regex of words between two days: "or", "to", "al"
    decimal_comma: bool


def cardinal(phrase: str, words: Words) -> int | None:
    """The number a phrase of number words says (`forty five`, `mil doscientos`), or None."""
    tokens = phrase.split()
    for index, token in enumerate(tokens):
        if token in words.thousand_words:
            left = _below_1000(tokens[:index], words) if index else 1
            right = _below_1000(_without_and(tokens[index + 1 :], words), words)
            if left is None or right is None or left == 0:
                return None
            return left * 1000 + right
    return _below_1000(tokens, words) if tokens else None


def _without_and(tokens: list[str], words: Words) -> list[str]:
    """The tokens after a leading "and" (`mil e quinhentos`, `one hundred and five`)."""
    return tokens[1:] if tokens[:1] == [words.number_and] and len(tokens) > 1 else tokens


def _below_1000(tokens: list[str], words: Words) -> int | None:
    """The number 0 to 999 that `tokens` say (none is 0), or None."""
    if not tokens:
        return 0
    whole = " ".join(tokens)
    if whole in words.below_100:
        return words.below_100[whole]
    for cut in range(1, len(tokens) + 1):
        head = " ".join(tokens[:cut])
        hundreds = words.hundreds.get(head)
        if hundreds is None and tokens[cut - 1] in words.hundred_words:
            units = words.below_100.get(" ".join(tokens[: cut - 1])) if cut > 1 else 1
            hundreds = 100 * units if units and units < 10 else None
        if hundreds is not None:
            rest = _without_and(tokens[cut:], words)
            tail = words.below_100.get(" ".join(rest)) if rest else 0
            return None if tail is None else hundreds + tail
    return None


# --- ordinals ----------------------------------------------------------------------------------

_ORDINALS = {
    "en": "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth",
    "es": "primero segundo tercero cuarto quinto sexto séptimo octavo noveno décimo",
    "fr": "premier deuxième troisième quatrième cinquième sixième septième huitième neuvième "
    "dixième onzième douzième",
    "pt": "primeiro segundo terceiro quarto quinto sexto sétimo oitavo nono décimo",
}
LAST = -1  # the ordinal "last" (`the last one`): the last choice, however many there are
_EXTRA_ORDINALS = {
    "en": {"last": LAST},
    "es": {"primer": 1, "tercer": 3, "setimo": 7, "ultimo": LAST, "ultima": LAST},
    "fr": {"première": 1, "premiere": 1, "second": 2, "seconde": 2, "dernier": LAST,
           "dernière": LAST},
    "pt": {"último": LAST, "última": LAST},
}  # fmt: skip
_ORDINAL_SUFFIX = {  # after NFKC, º is "o" and ª is "a"
    "en": r"st|nd|rd|th",
    "es": r"\.?(?:o|a|ro|ra|do|da|er|to|ta|vo|va|no|na|mo|ma)",
    "fr": r"er|re|ere|e|eme|ieme|nd|nde",
    "pt": r"\.?(?:o|a)",
}
_GENDERED = ("es", "pt")  # primero/primera, segundo/segunda


def _ordinals(language: str) -> dict[str, int]:
    """Every ordinal word of a language to its number; -1 is the last."""
    table = {plain(w): n for n, w in enumerate(_ORDINALS[language].split(), start=1)}
    if language in _GENDERED:
        table |= {word[:-1] + "a": number for word, number in table.items()}
    return table | {plain(word): number for word, number in _EXTRA_ORDINALS[language].items()}


_CHOICE_FILLERS = {  # words around a number that names a choice: "the second one", "option 2"
    "en": "the option number choice answer no # one i pick choose want please pls it's is"
    " think guess maybe probably perhaps say i'd id",  # "I think 3", "2 I guess"
    "es": "el la lo opción opcion número numero respuesta elijo quiero por favor porfa es"
    " creo que pienso quizás quizá tal vez diría",
    "fr": "le la l' option numéro numero réponse choix je choisis prends s'il vous plaît stp"
    " pense crois peut-être peut être dirais",
    "pt": "o a opção opcao número numero resposta escolho quero por favor é"
    " acho que penso talvez diria",
}

# --- dates ----------------------------------------------------------------------------------

_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
}
MONTH_ABBREVIATIONS = {
    "en": "jan feb mar apr may jun jul aug sep oct nov dec",
    "es": "ene feb mar abr may jun jul ago sep oct nov dic",
    "fr": "janv févr mars avr mai juin juil août sept oct nov déc",
    "pt": "jan fev mar abr mai jun jul ago set out nov dez",
}
_EXTRA_MONTHS = {"en": {"sept": 9}, "es": {"setiembre": 9, "set": 9, "sept": 9},
                 "fr": {"janv": 1, "fev": 2}, "pt": {}}  # fmt: skip
_WEEKDAYS = {  # Monday first, as date.weekday() counts
    "en": "monday tuesday wednesday thursday friday saturday sunday",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "pt": "segunda terça quarta quinta sexta sábado domingo",
}
_EXTRA_WEEKDAYS = {
    "en": {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
           "sat": 5, "sun": 6},
    "es": {}, "fr": {}, "pt": {},  # "sexta-feira": the weekday word is enough
}  # fmt: skip
# What may follow a weekday's word as part of its name: "terça-feira", "sexta feira".
_WEEKDAY_ENDINGS = {"en": "", "es": "", "fr": "", "pt": "feira"}
_RELATIVE_DAYS = {
    "en": {"today": 0, "yesterday": -1, "tomorrow": 1},
    "es": {"hoy": 0, "ayer": -1, "anteayer": -2, "antier": -2, "mañana": 1},
    "fr": {"aujourd'hui": 0, "aujourdhui": 0, "hier": -1, "avant-hier": -2, "demain": 1},
    "pt": {"hoje": 0, "ontem": -1, "anteontem": -2, "amanhã": 1},
}
_LAST = {"en": "last past", "es": "pasado pasada último última", "fr": "dernier dernière",
         "pt": "passado passada último última"}  # fmt: skip
_NEXT = {"en": "next coming", "es": "próximo próxima que_viene", "fr": "prochain prochaine",
         "pt": "próximo próxima que_vem"}  # fmt: skip
_AGO = {  # {n} is a number in digits or words: "3 days ago", "hace tres días"
    "en": (r"{n} (?P<unit>\w+) ago",),
    "es": (r"hace {n} (?P<unit>\w+)",),
    "fr": (r"il y a {n} (?P<unit>\w+)",),
    "pt": (r"(?:ha|faz) {n} (?P<unit>\w+)", r"{n} (?P<unit>\w+) atras"),
}
_DAY_WORDS = {"en": "day days", "es": "día días", "fr": "jour jours", "pt": "dia dias"}
_WEEK_WORDS = {"en": "week weeks", "es": "semana semanas", "fr": "semaine semaines",
               "pt": "semana semanas"}  # fmt: skip
_DATE_FILLERS = {"en": r"the|on the|on", "es": r"el|el dia|dia", "fr": r"le|le jour",
                 "pt": r"o dia|dia|em|no dia"}  # fmt: skip
# Between two days, "nov 5 or 6", "del 5 al 6": a reply naming two is asked again (regexes).
_DAY_JOINS = {"en": r"or|and|to|through|thru|till|until", "es": r"o|u|y|e|a|al|hasta",
              "fr": r"ou|et|a|au|jusqu'au", "pt": r"ou|e|a|ao|ate"}  # fmt: skip
_DECIMAL_COMMA = frozenset({"es", "fr", "pt"})
# Spanish "mañana" is tomorrow, and morning too: "ayer por la mañana" is yesterday morning.
MORNING_OR_TOMORROW = "manana"


def _table(words: str, start: int = 1) -> dict[str, int]:
    """Space-separated words to their position, counted from `start`."""
    return {plain(word): n for n, word in enumerate(words.split(), start=start)}


def words_for(language: str) -> Words:
    """The words read in a session in `language`; English for a language not built in."""
    return _words_for(language if language in LANGUAGES else ENGLISH)


@lru_cache(maxsize=len(LANGUAGES))
def _words_for(language: str) -> Words:
    """The words of one built-in language, merged with English where both are read."""
    both = (language, ENGLISH) if language != ENGLISH else (ENGLISH,)
    hundreds = {plain(w): 100 * n for n, w in enumerate(_HUNDREDS.get(language, "").split(), 1)}
    hundreds |= {plain(k): v for k, v in _EXTRA_NUMBERS[language].items() if v >= 100}
    below_100 = _below_100(language)
    hundred_words = _words(_HUNDRED_WORD.get(language, ""))
    thousand_words = _words(_THOUSAND_WORD[language])
    million_words = _words(_MILLION_WORD[language])
    read_scales = hundred_words | thousand_words | million_words
    unread_scales = frozenset().union(*(_words(_UNREAD_SCALE[code]) for code in both))
    unread_scales -= read_scales  # Spanish "mil" is a thousand
    return Words(
        language=language,
        yes=frozenset().union(*(_phrases(_YES[code]) for code in both)) | set(_YES_PHRASES_EN),
        no=frozenset().union(*(_phrases(_NO[code]) for code in both)) | set(_NO_PHRASES_EN),
        none=frozenset(plain(w) for code in both for w in _NONE[code].split("|")),
        unsure=frozenset(plain(w) for code in both for w in _UNSURE[code].split("|")),
        neutral=frozenset(plain(w) for code in both for w in _NEUTRAL[code].split("|")),
        negation=frozenset().union(*(_words(_NEGATION[code]) for code in both)),
        and_words=frozenset().union(*(_words(_AND[code]) for code in both)),
        below_100=below_100,
        hundreds=hundreds,
        hundred_words=hundred_words,
        thousand_words=thousand_words,
        million_words=million_words,
        unread_scales=unread_scales,
        number_and=_NUMBER_AND[language],
        half_words=frozenset().union(*(_words(_HALF[code]) for code in both)),
        articles=_words(_ARTICLES[language]),
        number_words=frozenset(
            token for phrase in (*below_100, *hundreds) for token in phrase.split()
        )
        | hundred_words
        | thousand_words
        | million_words  # "dos millones" is no number we read: asked again, never 2
        | unread_scales,
        ordinals={k: v for code in reversed(both) for k, v in _ordinals(code).items()},
        ordinal_suffix="|".join(_ORDINAL_SUFFIX[code] for code in both),
        choice_fillers=frozenset().union(*(_words(_CHOICE_FILLERS[code]) for code in both)),
        all_picks=frozenset(plain(w) for code in both for w in _ALL[code].split("|")),
        all_but=frozenset(plain(w) for code in both for w in _ALL_BUT[code].split("|")),
        dozen_words=frozenset().union(*(_words(_DOZEN[code]) for code in both)),
        beyond=frozenset(plain(w) for code in both for w in _BEYOND[code].split("|")),
        months={
            k: v
            for code in reversed(both)
            for k, v in (
                _table(MONTH_ABBREVIATIONS[code]) | _table(_MONTHS[code]) | _EXTRA_MONTHS[code]
            ).items()
        },
        weekdays={
            plain(k): v
            for code in reversed(both)
            for k, v in (_table(_WEEKDAYS[code], 0) | _EXTRA_WEEKDAYS[code]).items()
        },
        weekday_endings=frozenset().union(*(_words(_WEEKDAY_ENDINGS[code]) for code in both)),
        relative_days={plain(k): v for code in both for k, v in _RELATIVE_DAYS[code].items()},
        last_words=frozenset().union(*(_phrases(_LAST[code]) for code in both)),
        next_words=frozenset().union(*(_phrases(_NEXT[code]) for code in both)),
        ago=tuple(pattern for code in both for pattern in _AGO[code]),
        day_words=frozenset().union(*(_words(_DAY_WORDS[code]) for code in both)),
        week_words=frozenset().union(*(_words(_WEEK_WORDS[code]) for code in both)),
        date_fillers="|".join(_DATE_FILLERS[code] for code in both),
        day_joins="|".join(_DAY_JOINS[code] for code in both),
        decimal_comma=language in _DECIMAL_COMMA,
    )


# --- languages -----------------------------------------------------------------------------------

LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "pt": "Português"}
_NAMES_IN = {  # each built-in language's names for the built-in languages
    "en": {"en": "english", "es": "spanish castilian", "fr": "french", "pt": "portuguese"},
    "es": {"en": "inglés", "es": "español castellano", "fr": "francés", "pt": "portugués"},
    "fr": {"en": "anglais", "es": "espagnol", "fr": "français", "pt": "portugais"},
    "pt": {"en": "inglês", "es": "espanhol castelhano", "fr": "francês", "pt": "português"},
}
_LANGUAGE_WORDS = {
    word: code for names in _NAMES_IN.values() for code, text in names.items()
    for word in _words(text)
}  # fmt: skip


def language_of(reply: str, offered: tuple[str, ...] | list[str]) -> str | None:
    """The offered language a normalised reply names, by code or by name in any language."""
    word = plain(reply)
    code = word if word in offered else _LANGUAGE_WORDS.get(word)
    return code if code in offered else None
