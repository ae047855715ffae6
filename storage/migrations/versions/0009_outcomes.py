"""Keep each number's case in each survey, and what ended a session early

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-07 13:00:00

SPEC 11: every sampled number's AAPOR disposition, kept up to date as
messages, status callbacks and send errors arrive, so that a report reads one
row per case instead of every message. Existing sessions become cases here,
from what the database already holds (their answers, replies and the latest
message sent to each), the same way the running code keeps them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("survey_session", sa.Column("outcome", sa.String(), nullable=True))
    op.add_column("survey_session", sa.Column("disposition", sa.String(), nullable=True))
    attempts = sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    op.add_column("survey_session", attempts)
    op.add_column("survey_session", sa.Column("recontact_due", sa.DateTime(timezone=True)))
    recontacts = sa.Column("recontacts", sa.Integer(), nullable=False, server_default="0")
    op.add_column("survey_session", recontacts)
    due = sa.text("recontact_due IS NOT NULL")
    op.create_index(
        "ix_session_recontact_due",
        "survey_session",
        ["recontact_due"],
        sqlite_where=due,
        postgresql_where=due,
    )
    op.create_index("ix_outbound_kind_status", "outbound_message", ["kind", "status", "created_at"])
    op.create_table(
        "survey_case",
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("settled", sa.String(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("arm", sa.String(), nullable=True),
        sa.Column("ended", sa.String(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("replied", sa.Boolean(), nullable=False),
        sa.Column("delivery", sa.String(), nullable=True),
        sa.Column("active_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("survey_id", "phone"),
    )
    op.create_index(
        "ix_case_survey_code", "survey_case", ["survey_id", "walk_in", "code", "active_at"]
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_case_survey_code", table_name="survey_case")
    op.drop_table("survey_case")
    op.drop_index("ix_outbound_kind_status", table_name="outbound_message")
    op.drop_index("ix_session_recontact_due", table_name="survey_session")
    op.drop_column("survey_session", "recontacts")
    op.drop_column("survey_session", "recontact_due")
    op.drop_column("survey_session", "attempts")
    op.drop_column("survey_session", "disposition")
    op.drop_column("survey_session", "outcome")


# What the running code knew when these rows were written: a frozen copy of the rules
# (bot/outcomes.py), so that this revision means the same whatever the code becomes.
ORDER = ("1.1", "1.2", "4.80", "4.10", "2.11", "2.12", "3.19", "3.20", "4.30")
BAD_NUMBER = {21211, 21614, 30005, 30006}

SESSIONS = """
SELECT s.id, s.survey_id, s.phone, s.status, s.started_at, s.updated_at,
       EXISTS (SELECT 1 FROM answer AS a WHERE a.session_id = s.id),
       EXISTS (SELECT 1 FROM outbound_message AS o
               WHERE o.session_id = s.id AND o.kind = 'invite' AND o.sid IS NOT NULL),
       (SELECT count(*) FROM inbound_message AS i WHERE i.session_id = s.id),
       (SELECT o.status FROM outbound_message AS o WHERE o.session_id = s.id
        ORDER BY o.id DESC LIMIT 1),
       (SELECT o.error_code FROM outbound_message AS o WHERE o.session_id = s.id
        ORDER BY o.id DESC LIMIT 1),
       (SELECT count(*) FROM outbound_message AS o WHERE o.session_id = s.id AND o.sid IS NOT NULL)
FROM survey_session AS s WHERE NOT s.test ORDER BY s.survey_id, s.phone, s.id
"""


def _backfill(conn) -> None:
    """A case for each number and survey with sessions that are not tests."""
    table = sa.table(
        "survey_case",
        *(sa.column(name) for name in ("survey_id", "phone", "walk_in", "created_at", "code")),
        *(sa.column(name) for name in ("settled", "session_id", "ended", "answered")),
        *(sa.column(name) for name in ("partial", "replied", "delivery", "active_at")),
    )
    cases: dict[tuple[str, str], dict] = {}
    sessions: list[dict] = []
    for row in conn.execute(sa.text(SESSIONS)):
        sid, survey_id, phone, status, started, updated, answered, invited, inbound, *rest = row
        last, error, attempts = rest
        replied = inbound > (0 if invited else 1)  # a walk-in's first message started it
        delivery = None if last is None else _delivery(last, error)
        code = _code(status, answered, replied, delivery)
        sessions.append({"id": sid, "code": code, "attempts": attempts})
        key = (survey_id, phone)
        earlier = cases.get(key)
        settled = None if earlier is None else _best(earlier["settled"], earlier["live"])
        cases[key] = {
            "survey_id": survey_id,
            "phone": phone,
            "walk_in": earlier["walk_in"] if earlier else not invited,
            "created_at": earlier["created_at"] if earlier else started,
            "settled": settled,
            "live": code,
            "code": _best(settled, code),
            "session_id": sid,
            "ended": None if status == "open" else status,
            "answered": bool(answered),
            "partial": False,
            "replied": replied,
            "delivery": delivery,
            "active_at": updated if status == "open" else None,
        }
    rows = [{k: v for k, v in case.items() if k != "live"} for case in cases.values()]
    if rows:
        conn.execute(sa.insert(table), rows)
    session = sa.table("survey_session", sa.column("id"), sa.column("disposition"))
    session.append_column(sa.column("attempts"))
    for one in sessions:
        change = {"disposition": one["code"], "attempts": one["attempts"]}
        conn.execute(sa.update(session).where(session.c.id == one["id"]).values(**change))


def _delivery(status: str, error) -> str:
    """ok, failed or bad, from a message's last status and error."""
    if error in BAD_NUMBER:
        return "bad"
    return "failed" if status in ("failed", "undelivered") else "ok"


def _code(status: str, answered, replied: bool, delivery) -> str:
    """A session's code from what the old rows say (no outcomes or partials existed yet)."""
    if status == "completed":
        return "1.1"
    if answered:
        return "2.12"
    if replied or status == "opted_out":
        return "2.11"
    return {"bad": "4.30", "failed": "3.20"}.get(delivery, "3.19")


def _best(*codes):
    """The code first in the table."""
    found = [code for code in codes if code is not None]
    return min(found, key=ORDER.index) if found else None
