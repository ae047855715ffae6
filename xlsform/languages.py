"""Language columns of an XLSForm (`label::Español (es)`) read as ISO 639-1 codes."""

from __future__ import annotations

import re

# Names an XLSForm may give a language without its code, in English and in the language
# itself, for the languages most used in SMS surveys; anything else needs `Name (xx)`.
LANGUAGE_NAMES = {
    "amharic": "am", "አማርኛ": "am",
    "arabic": "ar", "العربية": "ar",
    "bengali": "bn", "bangla": "bn", "বাংলা": "bn",
    "burmese": "my", "myanmar": "my",
    "chichewa": "ny", "nyanja": "ny", "chinyanja": "ny",
    "chinese": "zh", "中文": "zh",
    "dutch": "nl", "nederlands": "nl",
    "english": "en",
    "french": "fr", "français": "fr", "francais": "fr",
    "german": "de", "deutsch": "de",
    "greek": "el", "ελληνικά": "el",
    "haitian creole": "ht", "kreyòl": "ht", "kreyol": "ht",
    "hausa": "ha",
    "hindi": "hi", "हिन्दी": "hi",
    "igbo": "ig",
    "indonesian": "id", "bahasa indonesia": "id",
    "italian": "it", "italiano": "it",
    "japanese": "ja", "日本語": "ja",
    "khmer": "km",
    "kinyarwanda": "rw",
    "korean": "ko", "한국어": "ko",
    "lao": "lo",
    "luganda": "lg", "ganda": "lg",
    "malagasy": "mg",
    "malay": "ms", "bahasa melayu": "ms",
    "nepali": "ne", "नेपाली": "ne",
    "oromo": "om", "afaan oromoo": "om",
    "pashto": "ps", "پښتو": "ps",
    "persian": "fa", "farsi": "fa", "فارسی": "fa",
    "polish": "pl", "polski": "pl",
    "portuguese": "pt", "português": "pt", "portugues": "pt",
    "romanian": "ro", "română": "ro",
    "russian": "ru", "русский": "ru",
    "shona": "sn",
    "somali": "so", "soomaali": "so",
    "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
    "swahili": "sw", "kiswahili": "sw",
    "tagalog": "tl", "filipino": "tl",
    "thai": "th", "ไทย": "th",
    "tigrinya": "ti", "ትግርኛ": "ti",
    "turkish": "tr", "türkçe": "tr",
    "ukrainian": "uk", "українська": "uk",
    "urdu": "ur", "اردو": "ur",
    "vietnamese": "vi", "tiếng việt": "vi",
    "wolof": "wo",
    "xhosa": "xh", "isixhosa": "xh",
    "yoruba": "yo", "yorùbá": "yo",
    "zulu": "zu", "isizulu": "zu",
}  # fmt: skip

# `Name (xx)` or `Name (xx-YY)`: XLSForm's way of giving the code; only the language counts.
NAMED_CODE = re.compile(r"(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*\)")
BARE_CODE = re.compile(r"[A-Za-z]{2}(?:[-_][A-Za-z0-9]+)*")


def language_code(column_language: str) -> str | None:
    """The ISO 639-1 code of a column's language (`English (en)`, `en`, `English`), or None."""
    text = column_language.strip()
    if match := NAMED_CODE.fullmatch(text):
        return match["code"].lower()
    if BARE_CODE.fullmatch(text):
        return text[:2].lower()
    name = re.sub(r"\(.*?\)", " ", text)  # `English (eng)`: a code that is not ISO 639-1
    return LANGUAGE_NAMES.get(" ".join(name.split()).casefold())
