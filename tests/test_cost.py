"""What each message costs: segments, Smart Encoding, worst cases, and the check report."""

from __future__ import annotations

import pytest

from bot.cost import culprits, measure, smart_encode

# 3GPP TS 23.038, table 6.2.1 (default alphabet) read row by row, without the escape
# (0x1B), and table 6.2.1.1 (its extension: form feed and ^{}\[~]|€).
GSM_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
CYRILLIC = "ж"  # one UTF-16 unit, not in GSM-7
EMOJI = "🙂"  # a surrogate pair in UTF-16


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        # the € does not fit in the first segment's last septet: it moves whole
        ("a" * 152 + "€" + "a" * 9, "GSM-7", 163, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("a" * 153 + "€" + "a" * 151, "GSM-7", 306, 2),
        (CYRILLIC * 70, "UCS-2", 70, 1),
        (CYRILLIC * 71, "UCS-2", 71, 2),
        (CYRILLIC * 134, "UCS-2", 134, 2),
        (CYRILLIC * 135, "UCS-2", 135, 3),
        ("a" * 69 + EMOJI, "UCS-2", 71, 2),
        ("a" * 68 + EMOJI, "UCS-2", 70, 1),
        # the emoji's two halves stay together in the second segment
        (CYRILLIC * 66 + EMOJI + CYRILLIC * 66, "UCS-2", 134, 3),
        (CYRILLIC * 67 + EMOJI + CYRILLIC * 65, "UCS-2", 134, 2),
        ("a" * 159 + CYRILLIC, "UCS-2", 160, 3),
        ("ç", "UCS-2", 1, 1),  # only the capital Ç is in the alphabet
        ("`", "UCS-2", 1, 1),
        ("\x1b", "UCS-2", 1, 1),  # the escape announces an extension, it is no character
    ],
)
def test_segments(text, encoding, units, segments):
    assert tuple(measure(text)) == (encoding, units, segments)


def test_the_default_alphabet_takes_one_septet_each():
    assert len(GSM_ALPHABET) == 127
    assert tuple(measure(GSM_ALPHABET)) == ("GSM-7", 127, 1)


@pytest.mark.parametrize("char", GSM_EXTENSION)
def test_an_extension_character_takes_two_septets(char):
    assert tuple(measure(char)) == ("GSM-7", 2, 1)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("It’s ‘fine’", "It's 'fine'"),
        ("“Hello” «there»", '"Hello" "there"'),
        ("9–5 — daily", "9-5 - daily"),
        ("Wait…", "Wait..."),
        ("a\u00a0b\u2009c\u3000d", "a b c d"),
        ("zero\u200bwidth", "zerowidth"),
        ("１２ＡＢ", "12AB"),
        ("½ price‼", "1/2 price!!"),
        ("Café 🙂", "Café 🙂"),  # é is GSM-7; an emoji has no replacement
    ],
)
def test_smart_encoding(text, sent):
    assert smart_encode(text) == sent


def test_smart_encoding_makes_typography_gsm7():
    assert measure("“Don’t wait” — reply…").encoding == "UCS-2"
    assert measure(smart_encode("“Don’t wait” — reply…")).encoding == "GSM-7"


def test_culprits_name_each_character_once_with_its_replacement():
    assert culprits("It’s 🙂 and it’s done—ok") == [("’", "'"), ("🙂", None), ("—", "-")]
    assert culprits("plain {text} €") == []
