"""One session shape: answers hold answers only; replies are stored as text

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-07 13:00:00

The BACK trail and a confirmation waiting for YES were kept inside a session's
answers under the keys "asked" (once "$asked") and "$confirm", so a question
whose id is `asked` lost its answer from the wide export. They get columns of
their own, with the study arm and the shown orders. Open sessions go on where
they were; an answer to a question `asked` that the trail hid is put back from
its `answer` row. Inbound replies were stored as TwiML; they become the text
sent ("" for none), since TwiML is made only by the webhook.
"""

import json
import xml.etree.ElementTree as ET

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None

# The keys the engine kept among the answers, by release: "asked" was meant to be
# "$asked" but a later name in the same module rebound it.
TRAIL_KEYS, PENDING_KEY = ("$asked", "asked"), "$confirm"
HIDDEN = "asked"  # the one question id the trail could hide
# TwiML exactly as every earlier release wrote it (web/twiml.py, twilio's MessagingResponse).
PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>'
OPEN_MESSAGE, CLOSE_MESSAGE = PROLOGUE + "<Response><Message>", "</Message></Response>"
EMPTY = (PROLOGUE + "<Response />", PROLOGUE + "<Response><Message /></Response>", "<Response/>")
BATCH = 1000

session = sa.table(
    "survey_session",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("answers", sa.Text),
    sa.column("trail", sa.Text),
    sa.column("pending", sa.Text),
)
answer = sa.table(
    "answer",
    sa.column("id", sa.Integer),
    sa.column("session_id", sa.Integer),
    sa.column("question_id", sa.String),
    sa.column("value", sa.Text),
)
inbound = sa.table(
    "inbound_message", sa.column("message_sid", sa.String), sa.column("reply", sa.Text)
)


def upgrade() -> None:
    """Apply this revision."""
    # Plain ADD COLUMN (as 0004): SQLite's batch mode would copy the table.
    op.add_column(
        "survey_session", sa.Column("trail", sa.Text(), nullable=False, server_default="[]")
    )
    op.add_column("survey_session", sa.Column("pending", sa.Text(), nullable=True))
    op.add_column("survey_session", sa.Column("arm", sa.String(), nullable=True))
    op.add_column("survey_session", sa.Column("orders", sa.Text(), nullable=True))
    conn = op.get_bind()
    _move_bookkeeping(conn)
    _replies_to_text(conn)


def _move_bookkeeping(conn) -> None:
    """Take the trail and a pending value out of each session's answers into their columns."""
    hidden = sa.select(answer.c.session_id).where(answer.c.question_id == HIDDEN)
    touched = sa.or_(
        *(session.c.answers.like(f'%"{key}":%') for key in (*TRAIL_KEYS, PENDING_KEY)),
        session.c.id.in_(hidden),
    )
    rows = conn.execute(sa.select(session.c.id, session.c.status, session.c.answers).where(touched))
    changes = [change for row in rows.all() if (change := _split(conn, *row)) is not None]
    for start in range(0, len(changes), BATCH):
        conn.execute(
            session.update()
            .where(session.c.id == sa.bindparam("sid"))
            .values(
                answers=sa.bindparam("new_answers"),
                trail=sa.bindparam("new_trail"),
                pending=sa.bindparam("new_pending"),
            ),
            changes[start : start + BATCH],
        )


def _split(conn, session_id: int, status: str, stored: str) -> dict | None:
    """The new answers, trail and pending value of one session; None if nothing changes."""
    answers = json.loads(stored)
    before = dict(answers)
    trail = answers.pop("$asked", None)
    # "asked" held the trail of an open session; a session that had ended kept its answer there.
    if status == "open" and _is_trail(answers.get(HIDDEN)):
        trail = trail or answers.pop(HIDDEN)
    pending = answers.pop(PENDING_KEY, None) if status == "open" else None
    answers.pop(PENDING_KEY, None)
    if HIDDEN not in answers:
        kept = conn.execute(
            sa.select(answer.c.value).where(
                answer.c.session_id == session_id, answer.c.question_id == HIDDEN
            )
        ).scalar()
        if kept is not None:
            answers = _in_answer_order(conn, session_id, {**answers, HIDDEN: json.loads(kept)})
    if answers == before and trail is None and pending is None:
        return None
    return {
        "sid": session_id,
        "new_answers": json.dumps(answers, ensure_ascii=False, separators=(",", ":")),
        "new_trail": json.dumps(trail or [], ensure_ascii=False, separators=(",", ":")),
        "new_pending": pending if isinstance(pending, str) else None,
    }


def _is_trail(value) -> bool:
    """Whether a value is a BACK trail ([[question id, language], ...]), not an answer."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(step, list) and len(step) == 2 for step in value)
    )


def _in_answer_order(conn, session_id: int, answers: dict) -> dict:
    """The answers in the order their rows were written (a session's answers keep that order)."""
    order = conn.execute(
        sa.select(answer.c.question_id)
        .where(answer.c.session_id == session_id)
        .order_by(answer.c.id)
    ).scalars()
    ranked = {qid: i for i, qid in enumerate(order)}
    return dict(sorted(answers.items(), key=lambda item: ranked.get(item[0], len(ranked))))


def _replies_to_text(conn) -> None:
    """Stored TwiML replies as the text they carried ("" for none), in SQL where it is plain."""
    reply = inbound.c.reply
    conn.execute(inbound.update().where(reply.in_(EMPTY)).values(reply=""))
    plain_twiml = sa.and_(reply.like(OPEN_MESSAGE + "%"), reply.like("%" + CLOSE_MESSAGE))
    # First any other TwiML (another writer's spacing or attributes), read properly.
    other = conn.execute(
        sa.select(inbound.c.message_sid, reply).where(reply.like("<%"), ~plain_twiml)
    ).all()
    texts = [{"key": sid, "text": _message_text(xml)} for sid, xml in other]
    if texts:
        conn.execute(
            inbound.update()
            .where(inbound.c.message_sid == sa.bindparam("key"))
            .values(reply=sa.bindparam("text")),
            texts,
        )
    start, cut = len(OPEN_MESSAGE) + 1, len(OPEN_MESSAGE) + len(CLOSE_MESSAGE)
    inner = sa.func.substr(reply, start, sa.func.length(reply) - cut)
    # The escapes ElementTree writes in text, &amp; last so that "&amp;lt;" stays "&lt;".
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        inner = sa.func.replace(inner, escaped, plain)
    conn.execute(inbound.update().where(plain_twiml).values(reply=inner))


def _message_text(twiml: str) -> str:
    """The text of a TwiML reply's <Message>, "" for none (or for what is not TwiML)."""
    try:
        message = ET.fromstring(twiml).find("Message")
    except ET.ParseError:
        return twiml  # not TwiML after all: a text that looked like it
    return "" if message is None else (message.text or "")


def downgrade() -> None:
    """Undo this revision: the trail and pending value go back among an open session's answers."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(session.c.id, session.c.answers, session.c.trail, session.c.pending).where(
            session.c.status == "open",
            sa.or_(session.c.trail != "[]", session.c.pending.isnot(None)),
        )
    ).all()
    for session_id, stored, trail, pending in rows:
        answers = json.loads(stored)
        if json.loads(trail):
            answers["asked"] = json.loads(trail)
        if pending is not None:
            answers[PENDING_KEY] = pending
        text = json.dumps(answers, ensure_ascii=False, separators=(",", ":"))
        conn.execute(session.update().where(session.c.id == session_id).values(answers=text))
    _replies_to_twiml(conn)
    for column in ("orders", "arm", "pending", "trail"):
        op.drop_column("survey_session", column)


def _replies_to_twiml(conn) -> None:
    """Text replies back as the TwiML earlier releases stored."""
    reply = inbound.c.reply
    conn.execute(inbound.update().where(reply == "").values(reply=EMPTY[0]))
    inner = reply
    for plain, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        inner = sa.func.replace(inner, plain, escaped)
    twiml = sa.literal(OPEN_MESSAGE) + inner + sa.literal(CLOSE_MESSAGE)
    conn.execute(inbound.update().where(~reply.like(PROLOGUE + "%")).values(reply=twiml))
