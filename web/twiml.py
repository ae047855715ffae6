"""TwiML, the reply format of Twilio's messaging webhook."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# Characters XML 1.0 cannot hold even escaped: a reply that quotes such an
# answer would be TwiML that Twilio cannot parse, and nothing would be sent.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TWIML_MESSAGE = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'
TWIML_BLANK = '<?xml version="1.0" encoding="UTF-8"?><Response><Message /></Response>'


def to_twiml(reply: str | None) -> str:
    """A TwiML document with zero or one <Message>, byte for byte as twilio's MessagingResponse.

    Building it with ElementTree cost more than the rest of the reply; the
    document is fixed but for the text, which ElementTree escapes as `escape` does.
    """
    if not reply:
        return TWIML_EMPTY
    text = escape(NOT_XML.sub("", reply))
    return TWIML_MESSAGE.format(text) if text else TWIML_BLANK
