"""An SMS as Twilio sends it: its encoding, its segments, Smart Encoding, and its longest body.

SMS are billed by segment. A message in GSM-7 (3GPP TS 23.038's default
alphabet) is one segment up to 160 septets and 153 per segment above; any
other character makes the whole message UCS-2: one segment up to 70 UTF-16
code units, 67 per segment above. A two-septet character or a surrogate pair
is never split across segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
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


@lru_cache(maxsize=4096)
def _septets(char: str) -> int | None:
    """The septets `char` takes in GSM-7 (2 for the extension table), None if it has none."""
    if char in _NOT_GSM:
        return None
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


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


def ucs2(text: str) -> Measure:
    """The cost of `text` sent in UCS-2."""
    widths = (2 if ord(char) > 0xFFFF else 1 for char in text)  # astral: a surrogate pair
    return Measure(UCS2, *_segments(widths, UCS2_SINGLE, UCS2_PER_SEGMENT))


def measure(text: str) -> Measure:
    """The cost of `text`: GSM-7 when every character has a septet, else UCS-2."""
    widths = [_septets(char) for char in text]
    if None in widths:
        return ucs2(text)
    return Measure(GSM7, *_segments(widths, GSM7_SINGLE, GSM7_PER_SEGMENT))


def smart_encode(text: str) -> str:
    """`text` with Twilio's Smart Encoding replacements made."""
    return text.translate(_SMART_TABLE)


def culprits(text: str) -> list[tuple[str, str | None]]:
    """Each character that keeps `text` out of GSM-7, once, with its replacement if it has one."""
    found = dict.fromkeys(char for char in text if _septets(char) is None)
    return [(char, SMART_ENCODING.get(char)) for char in found]
