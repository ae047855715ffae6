"""The names of a message the bot sends itself: its kinds, its statuses, Twilio's error codes.

Storage writes and reads them (outbound_message.kind and .status), the sending
side and the service act on them, the status webhook checks Twilio's forms
against them: each is named here once, in the lowest layer that needs it.
Twilio's 1,600-character limit on a body is `bot.segments.TWILIO_MAX_CHARACTERS`.
"""

from __future__ import annotations

# What started a message: `flask invite`, `flask remind` or `flask worker` (SPEC 11).
INVITE, REMINDER, RECONTACT = "invite", "reminder", "recontact"

# The bot's own statuses, before Twilio has the message: written and not yet handed
# over, handed over again by a later run after a stop.
PENDING, RESENDING = "pending", "resending"
FAILED = "failed"  # Twilio's, and ours when Twilio refused the message

# Twilio's MessageStatus values (its status callback docs), each with how far along
# the message is. Callbacks can arrive out of order (a late "sent" after "delivered"):
# a stored status never goes back to an earlier one.
UNKNOWN_STEP = 3  # after queued, never over a final one
TWILIO_STEPS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "undelivered": 5,
    FAILED: 5,
    "canceled": 5,
    "read": 6,
    "receiving": UNKNOWN_STEP,  # an inbound message's: not expected for ours
    "received": UNKNOWN_STEP,
    "partially_delivered": UNKNOWN_STEP,
}
TWILIO_STATUSES = frozenset(TWILIO_STEPS)
# Two ends of a message that exclude each other: once it has reached the phone, a late
# failure says nothing of it, and the reverse (both are final at the same step).
REACHED = ("delivered", "read")
NOT_REACHED = ("undelivered", FAILED, "canceled")
DELIVERY_ORDER = {PENDING: 0, RESENDING: 0, **TWILIO_STEPS}

# Twilio's error codes the bot acts on.
CARRIER_OPT_OUT = 21610  # the recipient had texted STOP to this sender
VALIDITY_EXPIRED = 30036  # the message outlived its ValidityPeriod in Twilio's queue, unsent
