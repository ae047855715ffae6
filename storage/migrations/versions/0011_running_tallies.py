"""Keep the studio's results as running tallies, updated by triggers with every write

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07 13:00:00

The results JSON (SPEC 9) counted a survey's sessions, question visits and
answers on every request: 11 s for a million sessions. These tables hold the
same figures, grouped by what a filter can pick (survey, version, language,
arm, test, day started, stored status): ended sessions by state, each question's
visits and answers, answer values, and whole seconds to complete. Triggers
keep them in the transaction that writes the rows they count, so no write
path (webhook, invitations, callbacks, the command line) can forget them; a
session whose status or language changes moves its figures with it.

Values of text questions are only counted (`text_question` lists those of
each stored version), since they hardly repeat. On PostgreSQL the triggers
take one transaction-scoped lock before touching a tally: two messages that
move sessions between the same rows in opposite order would otherwise
deadlock. It is held from a message's writes to its COMMIT, one round trip.

Existing rows are counted once here, after the triggers exist (on PostgreSQL
creating them makes concurrent writers wait for this transaction).
"""

import sqlalchemy as sa
from alembic import op

from bot.loader import SurveyError, load_survey  # the app's own reading of a stored version

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = ("survey_id", "survey_version", "language", "arm", "test", "day", "status")
TABLES = {  # name: (its own key columns after KEY, its count columns)
    "tally_session": (("state",), ("sessions",)),
    "tally_question": (
        ("question_id",),
        ("asked", "answered", "skipped", "unanswered", "reprompts"),
    ),
    "tally_answer": (("question_id", "value"), ("answers",)),
    "tally_duration": (("seconds",), ("sessions",)),
}


def upgrade() -> None:
    """Apply this revision."""
    for name, (extra, counts) in TABLES.items():
        op.create_table(name, *_columns(extra, counts), sqlite_with_rowid=False)
    op.create_table(
        "text_question",
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("survey_version", sa.String(), nullable=False),
        sa.Column("question_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("survey_id", "survey_version", "question_id"),
        sqlite_with_rowid=False,
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in sqlite_triggers() if sqlite else postgresql_triggers():
        op.execute(statement)
    _remember_texts()
    for statement in backfill(sqlite):
        op.execute(statement)


def _columns(extra: tuple, counts: tuple) -> list:
    """A tally table's key, its own key columns and its counts."""
    types = {"test": sa.Boolean(), "seconds": sa.Integer(), "value": sa.Text()}
    key = [sa.Column(c, types.get(c, sa.String()), nullable=False) for c in (*KEY, *extra)]
    numbers = [sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in counts]
    return [*key, *numbers, sa.PrimaryKeyConstraint(*KEY, *extra)]


def _remember_texts() -> None:
    """The text questions of every stored version, read from its stored source."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT survey_id, version, path, source FROM survey_version"))
    texts = []
    for survey_id, version, path, source in rows.fetchall():
        try:
            survey = load_survey(source.encode(), path, limits=False)
        except (SurveyError, ValueError):  # a source that no longer loads: every value counted
            continue
        texts += [(survey_id, version, q.id) for q in survey.questions if q.type == "text"]
    insert = sa.text("INSERT INTO text_question VALUES (:s, :v, :q)")
    if texts:
        conn.execute(insert, [{"s": s, "v": v, "q": q} for s, v, q in texts])


def _upsert(table: str) -> str:
    """ON CONFLICT for a tally table: add the new counts to the stored ones."""
    extra, counts = TABLES[table]
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    return f"ON CONFLICT ({', '.join((*KEY, *extra))}) DO UPDATE SET {adds}"


def _insert(table: str) -> str:
    """INSERT INTO a tally table, every column named."""
    extra, counts = TABLES[table]
    return f"INSERT INTO {table} ({', '.join((*KEY, *extra, *counts))})"


# -- SQLite: triggers written out per table and event -------------------------


def _sqlite_key(row: str) -> str:
    """A session row's tally key (SQLite stores UTC times as `YYYY-MM-DD HH:MM:SS...`)."""
    return (
        f"{row}.survey_id, {row}.survey_version, coalesce({row}.language, ''), "
        f"coalesce({row}.arm, ''), {row}.test, "
        f"substr({row}.started_at, 1, 10), {row}.status"
    )


# The sessions whose time to complete is counted; 0013 leaves out those an outcome ended.
COMPLETED = "{r}.status = 'completed' AND {r}.completed_at IS NOT NULL"
NEW_OLD = (("OLD", "-1"), ("NEW", "1"))  # a row taken out of its tallies, a row added
SQLITE_SECONDS = (
    "CAST((julianday({r}.completed_at) - julianday({r}.started_at)) * 86400 AS INTEGER)"
)


def _sqlite_session(row: str, sign: str, completed: str, seconds: str) -> str:
    """Count a session row (its state, its time to complete if `completed`) with `sign`."""
    key = _sqlite_key(row)
    seconds = seconds.format(r=row)
    return f"""
    {_insert("tally_session")} SELECT {key}, {row}.state, {sign} WHERE {row}.status <> 'open'
    {_upsert("tally_session")};
    {_insert("tally_duration")} SELECT {key}, {seconds}, {sign}
    WHERE {completed.format(r=row)} {_upsert("tally_duration")};"""


def _sqlite_contents(row: str, sign: str) -> str:
    """Count every visit and answer of a session under its row's key with `sign`."""
    key = _sqlite_key(row)
    return f"""
    {_insert("tally_question")}
    SELECT {key}, v.question_id, {sign}, 0, {sign} * (v.outcome IS 'skipped'),
           {sign} * (v.outcome IS 'unanswered'), {sign} * v.reprompts
    FROM question_visit AS v WHERE v.session_id = {row}.id {_upsert("tally_question")};
    {_insert("tally_question")}
    SELECT {key}, a.question_id, 0, {sign}, 0, 0, 0
    FROM answer AS a WHERE a.session_id = {row}.id {_upsert("tally_question")};
    {_insert("tally_answer")}
    SELECT {key}, a.question_id, a.value, {sign} FROM answer AS a
    WHERE a.session_id = {row}.id AND NOT {_sqlite_text(row, "a.question_id")}
    {_upsert("tally_answer")};"""


def _sqlite_text(session: str, question: str) -> str:
    """Whether a question of the session's version is a text question."""
    return (
        "EXISTS (SELECT 1 FROM text_question AS x WHERE x.survey_id = "
        f"{session}.survey_id AND x.survey_version = {session}.survey_version "
        f"AND x.question_id = {question})"
    )


def _sqlite_visit(row: str, sign: str, asked: str) -> str:
    """Count a visit row with `sign` (`asked`: what it adds to asked)."""
    return f"""
    {_insert("tally_question")}
    SELECT {_sqlite_key("s")}, {row}.question_id, {asked}, 0, {sign} * ({row}.outcome IS 'skipped'),
           {sign} * ({row}.outcome IS 'unanswered'), {sign} * {row}.reprompts
    FROM survey_session AS s WHERE s.id = {row}.session_id {_upsert("tally_question")};"""


def _sqlite_answer(row: str, sign: str) -> str:
    """Count an answer row with `sign`: answered, and its value unless a text's."""
    key = _sqlite_key("s")
    return f"""
    {_insert("tally_question")} SELECT {key}, {row}.question_id, 0, {sign}, 0, 0, 0
    FROM survey_session AS s WHERE s.id = {row}.session_id {_upsert("tally_question")};
    {_insert("tally_answer")} SELECT {key}, {row}.question_id, {row}.value, {sign}
    FROM survey_session AS s WHERE s.id = {row}.session_id
    AND NOT {_sqlite_text("s", f"{row}.question_id")} {_upsert("tally_answer")};"""


def _changed(columns: tuple, distinct: str = "IS NOT") -> str:
    """Whether any of these columns changed in an UPDATE."""
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


# What a session's key is made of; its counted row adds the state and the times.
SESSION_KEY = ("survey_id", "survey_version", "language", "arm", "test", "started_at", "status")
SESSION_ROW = (*SESSION_KEY, "state", "completed_at")
# Sessions are tallied once they end: an open one changes state with nearly every
# message, and the results read the open ones from their rows (the index of open
# sessions) anyway, to apply the expiry rule at the moment of asking.
ENDED = "(OLD.status <> 'open' OR NEW.status <> 'open')"


def sqlite_session_triggers(completed: str = COMPLETED, seconds: str = SQLITE_SECONDS) -> list:
    """The SQLite triggers that count session rows."""
    old, new = (_sqlite_session(row, sign, completed, seconds) for row, sign in NEW_OLD)
    return [
        f"CREATE TRIGGER tally_session_insert AFTER INSERT ON survey_session BEGIN{new}\nEND",
        f"CREATE TRIGGER tally_session_delete AFTER DELETE ON survey_session BEGIN{old}\nEND",
        f"CREATE TRIGGER tally_session_update AFTER UPDATE ON survey_session "
        f"WHEN ({_changed(SESSION_ROW)}) AND {ENDED} BEGIN{old}{new}\nEND",
    ]


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep the tallies."""
    return [
        *sqlite_session_triggers(),
        f"CREATE TRIGGER tally_session_move AFTER UPDATE ON survey_session "
        f"WHEN {_changed(SESSION_KEY)} BEGIN"
        f"{_sqlite_contents('OLD', '-1')}{_sqlite_contents('NEW', '1')}\nEND",
        "CREATE TRIGGER tally_visit_insert AFTER INSERT ON question_visit BEGIN"
        f"{_sqlite_visit('NEW', '1', '1')}\nEND",
        "CREATE TRIGGER tally_visit_delete AFTER DELETE ON question_visit BEGIN"
        f"{_sqlite_visit('OLD', '-1', '-1')}\nEND",
        "CREATE TRIGGER tally_visit_update AFTER UPDATE ON question_visit "
        f"WHEN {_changed(('session_id', 'question_id', 'reprompts', 'outcome'))} BEGIN"
        f"{_sqlite_visit('OLD', '-1', '-1')}{_sqlite_visit('NEW', '1', '1')}\nEND",
        "CREATE TRIGGER tally_answer_insert AFTER INSERT ON answer BEGIN"
        f"{_sqlite_answer('NEW', '1')}\nEND",
        "CREATE TRIGGER tally_answer_delete AFTER DELETE ON answer BEGIN"
        f"{_sqlite_answer('OLD', '-1')}\nEND",
        "CREATE TRIGGER tally_answer_update AFTER UPDATE ON answer "
        f"WHEN {_changed(('session_id', 'question_id', 'value'))} BEGIN"
        f"{_sqlite_answer('OLD', '-1')}{_sqlite_answer('NEW', '1')}\nEND",
    ]


# -- PostgreSQL: one function per table, the counting in helper functions ------

# Whole seconds, cut down as SQLite's CAST does (PostgreSQL's CAST would round).
PG_SECONDS = "CAST(floor(EXTRACT(EPOCH FROM {r}.completed_at - {r}.started_at)) AS INTEGER)"
PG_LOCK = "PERFORM pg_advisory_xact_lock(hashtextextended('tallies', 0));"


def _pg_key(row: str) -> str:
    """A session row's tally key (the day in UTC)."""
    return (
        f"{row}.survey_id, {row}.survey_version, coalesce({row}.language, ''), "
        f"coalesce({row}.arm, ''), {row}.test, "
        f"to_char({row}.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), {row}.status"
    )


def _pg_function(name: str, args: str, body: str, returns: str = "void") -> str:
    """A PL/pgSQL function (or its new body, if it exists)."""
    return (
        f"CREATE OR REPLACE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nEND $$"
    )


def _pg_is(column: str, value: str) -> str:
    """1 if a nullable column holds `value`, else 0."""
    return f"({column} IS NOT DISTINCT FROM '{value}')::integer"


def pg_session_row(completed: str = COMPLETED) -> str:
    """The PostgreSQL function that counts a session row."""
    key = _pg_key("r")
    body = f"""
    IF r.status = 'open' THEN
      RETURN;
    END IF;
    {_insert("tally_session")} VALUES ({key}, r.state, sign) {_upsert("tally_session")};
    IF {completed.format(r="r")} THEN
      {_insert("tally_duration")} VALUES ({key}, {PG_SECONDS.format(r="r")}, sign)
      {_upsert("tally_duration")};
    END IF;"""
    return _pg_function("tally_session_row", "r survey_session, sign integer", body)


def postgresql_triggers() -> list[str]:
    """The PostgreSQL functions and triggers that keep the tallies."""
    key = _pg_key("r")
    text = (
        "EXISTS (SELECT 1 FROM text_question AS x WHERE x.survey_id = r.survey_id "
        "AND x.survey_version = r.survey_version AND x.question_id = {q})"
    )
    contents = f"""
    {_insert("tally_question")}
    SELECT {key}, v.question_id, sign, 0, sign * {_pg_is("v.outcome", "skipped")},
           sign * {_pg_is("v.outcome", "unanswered")}, sign * v.reprompts
    FROM question_visit AS v WHERE v.session_id = r.id {_upsert("tally_question")};
    {_insert("tally_question")} SELECT {key}, a.question_id, 0, sign, 0, 0, 0
    FROM answer AS a WHERE a.session_id = r.id {_upsert("tally_question")};
    {_insert("tally_answer")} SELECT {key}, a.question_id, a.value, sign
    FROM answer AS a WHERE a.session_id = r.id AND NOT {text.format(q="a.question_id")}
    {_upsert("tally_answer")};"""
    visit = f"""
    SELECT * INTO r FROM survey_session WHERE id = v.session_id;
    {_insert("tally_question")} VALUES ({key}, v.question_id, asked, 0,
      sign * {_pg_is("v.outcome", "skipped")}, sign * {_pg_is("v.outcome", "unanswered")},
      sign * v.reprompts) {_upsert("tally_question")};"""
    answer = f"""
    SELECT * INTO r FROM survey_session WHERE id = a.session_id;
    {_insert("tally_question")} VALUES ({key}, a.question_id, 0, sign, 0, 0, 0)
    {_upsert("tally_question")};
    IF NOT {text.format(q="a.question_id")} THEN
      {_insert("tally_answer")} VALUES ({key}, a.question_id, a.value, sign)
      {_upsert("tally_answer")};
    END IF;"""
    on_session = f"""
    {PG_LOCK}
    IF TG_OP <> 'INSERT' THEN PERFORM tally_session_row(OLD, -1); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM tally_session_row(NEW, 1); END IF;
    IF TG_OP = 'UPDATE' AND ({_changed(SESSION_KEY, "IS DISTINCT FROM")}) THEN
      PERFORM tally_session_contents(OLD, -1);
      PERFORM tally_session_contents(NEW, 1);
    END IF;
    RETURN NULL;"""
    on_child = """
    {lock}
    IF TG_OP <> 'INSERT' THEN PERFORM {fn}(OLD, -1{old}); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM {fn}(NEW, 1{new}); END IF;
    RETURN NULL;"""
    visit_args = "v question_visit, sign integer, asked integer"
    answer_args = "a answer, sign integer"
    return [
        pg_session_row(),
        _pg_function("tally_session_contents", "r survey_session, sign integer", contents),
        _pg_function("tally_visit_row", visit_args, "DECLARE_R" + visit).replace(
            "BEGIN\nDECLARE_R", "DECLARE r survey_session;\nBEGIN"
        ),
        _pg_function("tally_answer_row", answer_args, "DECLARE_R" + answer).replace(
            "BEGIN\nDECLARE_R", "DECLARE r survey_session;\nBEGIN"
        ),
        _pg_function("tally_on_session", "", on_session, "trigger"),
        _pg_function(
            "tally_on_visit",
            "",
            on_child.format(lock=PG_LOCK, fn="tally_visit_row", old=", -1", new=", 1"),
            "trigger",
        ),
        _pg_function(
            "tally_on_answer",
            "",
            on_child.format(lock=PG_LOCK, fn="tally_answer_row", old="", new=""),
            "trigger",
        ),
        "CREATE TRIGGER tally_session AFTER INSERT OR DELETE ON survey_session "
        "FOR EACH ROW EXECUTE FUNCTION tally_on_session()",
        "CREATE TRIGGER tally_session_update AFTER UPDATE ON survey_session FOR EACH ROW "
        f"WHEN ({_changed(SESSION_KEY, 'IS DISTINCT FROM')} OR "
        f"(({_changed(SESSION_ROW, 'IS DISTINCT FROM')}) AND {ENDED})) "
        "EXECUTE FUNCTION tally_on_session()",
        "CREATE TRIGGER tally_visit AFTER INSERT OR DELETE ON question_visit "
        "FOR EACH ROW EXECUTE FUNCTION tally_on_visit()",
        "CREATE TRIGGER tally_visit_update AFTER UPDATE ON question_visit FOR EACH ROW WHEN ("
        f"{_changed(('session_id', 'question_id', 'reprompts', 'outcome'), 'IS DISTINCT FROM')})"
        " EXECUTE FUNCTION tally_on_visit()",
        "CREATE TRIGGER tally_answer AFTER INSERT OR DELETE ON answer "
        "FOR EACH ROW EXECUTE FUNCTION tally_on_answer()",
        "CREATE TRIGGER tally_answer_update AFTER UPDATE ON answer FOR EACH ROW WHEN ("
        f"{_changed(('session_id', 'question_id', 'value'), 'IS DISTINCT FROM')})"
        " EXECUTE FUNCTION tally_on_answer()",
    ]


# -- the rows already stored, counted once ------------------------------------


TEXT = "VARCHAR"
KEY_TYPES = {"test": "BOOLEAN"}


def backfill_durations(sqlite: bool, completed: str = COMPLETED, seconds: str = "") -> str:
    """Count the stored sessions' times to complete into the empty tally."""
    key = (_sqlite_key if sqlite else _pg_key)("s")
    seconds = (seconds or (SQLITE_SECONDS if sqlite else PG_SECONDS)).format(r="s")
    return (
        f"{_insert('tally_duration')} SELECT {key}, {seconds}, count(*) FROM survey_session AS s "
        f"WHERE {completed.format(r='s')} GROUP BY {key}, {seconds}"
    )


def backfill(sqlite: bool) -> list[str]:
    """Count the stored sessions, visits and answers into the empty tallies."""
    key = (_sqlite_key if sqlite else _pg_key)("s")
    skipped, unanswered = (
        ("(v.outcome IS 'skipped')", "(v.outcome IS 'unanswered')")
        if sqlite
        else (_pg_is("v.outcome", "skipped"), _pg_is("v.outcome", "unanswered"))
    )
    text = (
        "EXISTS (SELECT 1 FROM text_question AS x WHERE x.survey_id = sk.survey_id "
        "AND x.survey_version = sk.survey_version AND x.question_id = a.question_id)"
    )
    keys = ", ".join(f"kk.{c}" for c in KEY)
    distinct = f"SELECT DISTINCT k, {', '.join(KEY)} FROM tally_session_key"
    return [
        f"{_insert('tally_session')} SELECT {key}, s.state, count(*) "
        f"FROM survey_session AS s WHERE s.status <> 'open' GROUP BY {key}, s.state",
        backfill_durations(sqlite),
        # Visits and answers are grouped by a number per key, not by the key's seven
        # columns: SQLite sorts the 15 M rows of a million sessions four times faster.
        "CREATE TEMPORARY TABLE tally_session_key (session_id INTEGER PRIMARY KEY, "
        f"k INTEGER NOT NULL, {', '.join(f'{c} {KEY_TYPES.get(c, TEXT)}' for c in KEY)})",
        f"INSERT INTO tally_session_key SELECT s.id, dense_rank() OVER (ORDER BY {key}), {key} "
        "FROM survey_session AS s",
        f"{_insert('tally_question')} SELECT {keys}, g.question_id, g.asked, g.answered, "
        "g.skipped, g.unanswered, g.reprompts FROM (SELECT sk.k, c.question_id, "
        "sum(c.asked) AS asked, sum(c.answered) AS answered, sum(c.skipped) AS skipped, "
        "sum(c.unanswered) AS unanswered, sum(c.reprompts) AS reprompts FROM ("
        f"SELECT v.session_id, v.question_id, 1 AS asked, 0 AS answered, {skipped} AS skipped,"
        f" {unanswered} AS unanswered, v.reprompts FROM question_visit AS v UNION ALL "
        "SELECT a.session_id, a.question_id, 0, 1, 0, 0, 0 FROM answer AS a) AS c "
        "JOIN tally_session_key AS sk ON sk.session_id = c.session_id "
        f"GROUP BY sk.k, c.question_id) AS g JOIN ({distinct}) AS kk ON kk.k = g.k",
        f"{_insert('tally_answer')} SELECT {keys}, g.question_id, g.value, g.n FROM ("
        "SELECT sk.k, a.question_id, a.value, count(*) AS n FROM answer AS a "
        "JOIN tally_session_key AS sk ON sk.session_id = a.session_id "
        f"WHERE NOT {text} GROUP BY sk.k, a.question_id, a.value) AS g "
        f"JOIN ({distinct}) AS kk ON kk.k = g.k",
        "DROP TABLE tally_session_key",
    ]


def downgrade() -> None:
    """Undo this revision."""
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (
            ("tally_session", "survey_session"),
            ("tally_session_update", "survey_session"),
            ("tally_visit", "question_visit"),
            ("tally_visit_update", "question_visit"),
            ("tally_answer", "answer"),
            ("tally_answer_update", "answer"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        for function in (
            "tally_on_session()",
            "tally_on_answer()",
            "tally_on_visit()",
            "tally_session_row(survey_session, integer)",
            "tally_session_contents(survey_session, integer)",
            "tally_visit_row(question_visit, integer, integer)",
            "tally_answer_row(answer, integer)",
        ):
            op.execute(f"DROP FUNCTION {function}")
    else:
        for trigger in ("session", "visit", "answer"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER tally_{trigger}_{event}")
        op.execute("DROP TRIGGER tally_session_move")
    for name in (*TABLES, "text_question"):
        op.drop_table(name)
