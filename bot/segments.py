"""An SMS as Twilio sends it: its encoding, its segments, Smart Encoding, and its longest body.

SMS are billed by segment. A message in GSM-7 (3GPP TS 23.038's default
alphabet) is one segment up to 160 septets and 153 per segment above; any
other character makes the whole message UCS-2: one segment up to 70 UTF-16
code units, 67 per segment above. A two-septet character or a surrogate pair
is never split across segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7, UCS2 = "GSM-7", "UCS-2"
GSM7_SINGLE, GSM7_PER_SEGMENT = 160, 153  # septets
UCS2_SINGLE, UCS2_PER_SEGMENT = 70, 67  # UTF-16 code units
TWILIO_MAX_CHARACTERS = 1600  # Twilio refuses a longer body, inbound or outbound

# The codec maps U+001B to the escape septet, but that septet only announces an
# extension character: ESC itself cannot be sent as text.
_NOT_GSM = frozenset("\x1b")

# Twilio's Smart Encoding: characters with a GSM-7 stand-in, from Twilio's
# published list (docs "List of characters replaced by Smart Encoding" and its
# message-segment-calculator). Control characters of that list are left out: a
# survey text holds none. ‹ and › go to < and >, as their shapes say.
_SMART_GROUPS = {
    '"': "«»“”ʺˮ‟❝❞〝〞＂„",
    "'": "‘’ʻˈʼʽʹ‛＇´ˊ`ˋ❛❜\u0313\u0314︐︑",
    "/": "÷⧸\u0337\u0338⁄∕／",
    "\\": "⧹⧵\u20e5﹨＼",
    "_": "\u0332＿",
    "|": "\u20d2\u20d3∣｜⎸⎹⏐⎜⎟",
    "-": "⎼⎽―﹣－‐⁃–—•",
    "@": "﹫＠",
    "$": "﹩＄",
    "!": "ǃ︕﹗！",
    "#": "﹟＃",
    "%": "﹪％",
    "&": "﹠＆",
    ",": "‚\u0326﹐﹑，､、",
    "(": "❨❪﹙（⟮⦅",
    ")": "❩❫﹚）⟯⦆",
    "*": "⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆﹡＊",
    "+": "˖﹢＋",
    ".": "。﹒．｡",
    ":": "ː˸⦂꞉︓：",
    ";": "⁏︔﹔；",
    "<": "﹤＜‹",
    "=": "\u0347꞊﹦＝",
    ">": "﹥＞›",
    "?": "︖﹖？",
    "^": "ˆ\u0302＾\u1dcd",
    "{": "❴﹛｛",
    "}": "❵﹜｝",
    "[": "［",
    "]": "］",
    "~": "˜˷\u0334\u0330\u0303∼～",
    " ": "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\u2028\u2029",
    "": "\u200b\u2060\ufeff",  # invisible: dropped
    "...": "…",
    "!!": "‼",
    "1/4": "¼",
    "1/2": "½",
    "3/4": "¾",
}
_SMART_LETTERS = {  # fullwidth digits and letters, small capitals
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **{chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)},
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True)),
}
SMART_ENCODING = {
    **{char: gsm for gsm, chars in _SMART_GROUPS.items() for char in chars},
    **_SMART_LETTERS,
}
_SMART_TABLE = str.maketrans(SMART_ENCODING)


class Measure(NamedTuple):
    """What a message costs: its encoding, its units (septets or UTF-16 code units), segments."""

    encoding: str
    units: int
    segments: int


def _gsm7_septets() -> dict[str, int]:
    """Each character GSM-7 can send and its septets (2: the extension table), read from the
    codec's own tables: every byte, alone and after the escape."""
    found: dict[str, int] = {}
    for byte in range(128):
        for sequence in (bytes([byte]), bytes([0x1B, byte])):
            for char in sequence.decode("gsm03.38", errors="ignore"):
                try:
                    found.setdefault(char, len(char.encode("gsm03.38")))
                except UnicodeEncodeError:
                    continue
    return {char: septets for char, septets in found.items() if char not in _NOT_GSM}


GSM7_SEPTETS = _gsm7_septets()
# Regular expressions, not a loop in Python: a load measures every message of a survey.
_OUTSIDE_GSM7 = re.compile(f"[^{re.escape(''.join(GSM7_SEPTETS))}]")
_EXTENSION = re.compile(f"[{re.escape(''.join(c for c, n in GSM7_SEPTETS.items() if n == 2))}]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units: a surrogate pair


def _segments(widths: Iterable[int], single: int, per_segment: int) -> tuple[int, int]:
    """(units, segments) for characters of these widths, never splitting one character."""
    widths = list(widths)
    units = sum(widths)
    if units <= single:
        return units, 1 if units else 0
    segments, used = 1, 0
    for width in widths:
        if used + width > per_segment:
            segments, used = segments + 1, 0
        used += width
    return units, segments


def _counted(
    text: str, wide: int, wide_chars: re.Pattern, single: int, per: int
) -> tuple[int, int]:
    """(units, segments) of `text` whose `wide` characters (found by `wide_chars`) take two
    units: arithmetic when none of them can fall across a segment's end."""
    units = len(text) + wide
    if wide and units > single:  # a two-unit character is never split: count them in place
        widths = (2 if wide_chars.match(char) else 1 for char in text)
        return _segments(widths, single, per)
    return units, (0 if not units else 1 if units <= single else -(-units // per))


def ucs2(text: str) -> Measure:
    """The cost of `text` sent in UCS-2."""
    astral = len(_ASTRAL.findall(text))
    return Measure(UCS2, *_counted(text, astral, _ASTRAL, UCS2_SINGLE, UCS2_PER_SEGMENT))


def measure(text: str) -> Measure:
    """The cost of `text`: GSM-7 when every character has a septet, else UCS-2."""
    if _OUTSIDE_GSM7.search(text):
        return ucs2(text)
    extended = len(_EXTENSION.findall(text))
    return Measure(GSM7, *_counted(text, extended, _EXTENSION, GSM7_SINGLE, GSM7_PER_SEGMENT))


def smart_encode(text: str) -> str:
    """`text` with Twilio's Smart Encoding replacements made."""
    return text.translate(_SMART_TABLE)


def culprits(text: str) -> list[tuple[str, str | None]]:
    """Each character that keeps `text` out of GSM-7, once, with its replacement if it has one."""
    found = dict.fromkeys(char for char in text if char not in GSM7_SEPTETS)
    return [(char, SMART_ENCODING.get(char)) for char in found]
