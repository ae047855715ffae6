"""The application service: one inbound message in, one transaction, the reply out.

It wires the engine (`bot/`) to storage (`storage/`): it reads a number's
situation, asks the engine what the message changes, and writes that with one
storage call (`store.apply`). The web side, the command line and the sending
side all go through it; it knows nothing of HTTP. Replies are plain text here and
in storage: the webhook makes them TwiML (web/twiml.py).

Before the engine decides, the service gives it all it needs: the open
session's survey version (`resolve`, which may read a stored version's source)
and the catalog's served surveys, in memory; the engine reads nothing else.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError

from bot import design, outcomes
from bot.catalog import Catalog, Claim, Resolution, recorded
from bot.compose import as_sent
from bot.conversation import COUNTS, Conversation, Effects, Situation
from bot.loader import SurveyError, load_survey
from bot.model import NOTE, Survey
from storage import cases, codebook, export, floip, research, results, schema, statfiles, store
from storage import db as database
from storage import design as design_store
from storage.messaging import CARRIER_OPT_OUT, VALIDITY_EXPIRED

RESEARCH = research.FORMATS  # the research exports' formats (SPEC 13)
CODEBOOK = "codebook"
EXTENSION = "survey_service"  # where an app keeps its Service (`app.extensions`)
CLAIMS_LOCK = "survey claims"  # locked like a phone number: one process decides at a time


class Clock:
    """The time the app runs on: the system's, or one a test sets as `CLOCK` in the config."""

    def now(self) -> datetime:
        """The current time, in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for pacing."""
        return time.monotonic()

    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        """Wait until `monotonic()` reaches `deadline`; False when `stop` is set first."""
        return not stop.wait(max(0.0, deadline - time.monotonic()))


class UnknownSurvey(LookupError):
    """No survey by that id: neither a file nor stored sessions."""


class Surveys:
    """The catalog's files plus the versions kept in the database (`version` rebuilds one)."""

    def __init__(self, catalog: Catalog, engine):
        self.catalog = catalog
        self.engine = engine
        self.stored: set[tuple[str, str]] = set()  # versions whose source is surely stored
        self._local = threading.local()  # each thread's own open transaction

    @property
    def pending(self) -> set[tuple[str, str]]:
        """Versions written by this thread's transaction, not yet committed."""
        if not hasattr(self._local, "pending"):
            self._local.pending = set()
        return self._local.pending

    def get(self, survey_id: str) -> Survey | None:
        """The served survey with this id."""
        return self.catalog.get(survey_id)

    def by_keyword(self, word: str) -> Survey | None:
        """The served survey a keyword starts."""
        return self.catalog.by_keyword(word)

    def default(self) -> Survey | None:
        """The served default survey."""
        return self.catalog.default()

    def surveys(self) -> list[Survey]:
        """Every served survey."""
        return self.catalog.surveys()

    def version(self, survey_id: str, version: str) -> Survey | None:
        """A survey version from the catalog, else rebuilt from its stored source."""
        found = self.catalog.version(survey_id, version)
        if found is not None:
            return found
        with self.engine.connect() as conn:
            stored = store.version_source(db=conn, survey_id=survey_id, version=version)
        if stored is None:
            return None
        try:
            survey = load_survey(stored[1].encode(), stored[0], limits=False)
        except SurveyError:
            return None
        self.catalog.add_version(survey)
        return survey

    def history(self, survey_id: str) -> list[Survey]:
        """Every stored version of a survey that still loads, newest first."""
        with self.engine.connect() as conn:
            stored = store.stored_versions(db=conn, survey_id=survey_id)
        return [s for s in (self.version(survey_id, v) for v, _, _ in stored) if s is not None]

    def find(self, survey_id: str) -> Survey:
        """The served survey, else its newest stored version (a retired survey)."""
        try:
            return self.served(survey_id)
        except UnknownSurvey:
            history = self.history(survey_id)
            if not history:
                raise
            return history[0]

    def served(self, survey_id: str) -> Survey:
        """A survey that is served now, or UnknownSurvey naming those that are."""
        self.catalog.refresh()
        survey = self.catalog.get(survey_id)
        if survey is None:
            served = ", ".join(s.id for s in self.surveys()) or "none"
            raise UnknownSurvey(f"No survey {survey_id!r} is served (served: {served}).")
        return survey

    def columns(self, survey: Survey) -> list[str]:
        """Export columns: the newest version's question ids, then ids only older ones had."""
        ids = [q.id for q in survey.questions if q.type != NOTE]  # a note has no answer
        for older in self.history(survey.id):
            ids += [q.id for q in older.questions if q.id not in ids and q.type != NOTE]
        return ids

    def unstored(self, effects: Effects) -> tuple[store.Version, ...]:
        """The versions that new sessions in `effects` use and storage may not hold yet.

        A version counts as stored only after the transaction that wrote it has
        committed (`committed()`); one that rolled back is written again.
        """
        found = []
        for run in effects.runs:
            key = (run.survey_id, run.version)
            if run.id is None and key not in self.stored:
                survey = run.survey or self.version(*key)
                texts = tuple(q.id for q in survey.questions if q.type == "text")
                found.append(store.Version(*key, survey.path, survey.source, texts))
                self.pending.add(key)
        return tuple(found)

    def committed(self) -> None:
        """The transaction that wrote the pending versions committed: stop writing them."""
        self.stored |= self.pending
        self.pending.clear()


class StoredClaims:
    """The catalog's claims kept in the database, so every process serves the same files."""

    def __init__(self, engine, clock: Clock | None = None):
        self.engine = engine
        self.clock = clock or Clock()

    def held(self) -> dict[Claim, str]:
        """The recorded claims and the file name holding each."""
        with self.engine.connect() as conn:
            return store.claims(db=conn)

    def stored(self) -> set[tuple[str, str]]:
        """The (survey id, version) pairs that have stored sessions."""
        with self.engine.connect() as conn:
            return store.version_keys(db=conn)

    def settle(self, decide) -> Resolution:
        """Decide and record under a lock every process takes, so two never both decide."""
        with database.locked(self.engine, CLAIMS_LOCK) as conn:
            served, conflicts = decide(store.claims(db=conn), store.version_keys(db=conn))
            store.record_claims(db=conn, held=recorded(served), now=self.clock.now())
        return served, conflicts


class Decision(NamedTuple):
    """What one message changes and the reply, from one read of its situation."""

    found: store.Found
    reply: str
    effects: Effects | None  # None: a redelivery, answered as before


@dataclass(frozen=True)
class Inbound:
    """One inbound message as the carrier delivered it."""

    phone: str
    body: str
    sid: str
    media: int = 0
    test: bool = False  # from flask simulate or the studio's try page: a test number


class Service:
    """Everything one process needs to answer messages: database, surveys, engine."""

    def __init__(self, config):
        # DATABASE_WAIT: a test's shorter bound on database waits (SPEC 3: 5 s, the default).
        wait = config.get("DATABASE_WAIT", database.WAIT_SECONDS)
        self.engine = database.make_engine(config["DATABASE_URL"], wait=wait)
        self._checked = False
        self._surveys_dir = config["SURVEYS_DIR"]
        self._library: tuple[Catalog, Surveys, Conversation] | None = None
        self._library_lock = threading.Lock()
        self.clock: Clock = config.get("CLOCK") or Clock()

    @property
    def catalog(self) -> Catalog:
        """The surveys served from SURVEYS_DIR, loaded on first use (`_loaded`)."""
        return self._loaded()[0]

    @property
    def surveys(self) -> Surveys:
        """The served surveys and the stored versions."""
        return self._loaded()[1]

    @property
    def conversation(self) -> Conversation:
        """The engine, over the served surveys."""
        return self._loaded()[2]

    def _loaded(self) -> tuple[Catalog, Surveys, Conversation]:
        """The catalog and what reads it, made once, when first needed.

        Loading logs each file that does not load, for a server's operator; a command that
        never serves (`surveys check` reads the files itself and reports every problem) must
        not print them a second time, so nothing is loaded before something asks for it.
        """
        if self._library is None:
            with self._library_lock:
                if self._library is None:
                    catalog = Catalog(self._surveys_dir)
                    surveys = Surveys(catalog, self.engine)
                    self._library = (catalog, surveys, Conversation(catalog))
        return self._library

    @staticmethod
    def of(app, *, check_schema: bool = True) -> Service:
        """The Service an app (Flask's, or any object with `extensions`) was made with.

        Its database schema is checked first, unless the caller is the one that
        migrates it (`flask db`).
        """
        service = app.extensions[EXTENSION]
        return service.ready() if check_schema else service

    def ready(self) -> Service:
        """Check once that the database schema is current (creating it on a new database)."""
        if not self._checked:
            schema.ensure_current(self.engine)
            self.catalog.use_claims(StoredClaims(self.engine, self.clock))
            self._checked = True
        return self

    def watch_surveys(self) -> None:
        """Keep the surveys in step with their folder from a thread, for a serving process.

        A process forked from this one (`gunicorn --preload`) watches in its
        own thread, with its own database connections.
        """
        self.catalog.watch()
        engine = self.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))

    def recorded_claims(self) -> tuple[dict[Claim, str], set[tuple[str, str]]]:
        """Which file the database says holds each claim, and the versions with sessions.

        For `surveys check`, which judges files as if served: the served surveys are not
        loaded, and no claim is recorded (the schema is checked, a new database created).
        """
        schema.ensure_current(self.engine)
        claims = StoredClaims(self.engine, self.clock)
        return claims.held(), claims.stored()

    def close(self) -> None:
        """Stop the survey watcher and close the database connections."""
        if self._library is not None:  # never loaded: no watcher, and nothing to load now
            self.catalog.stop_watching()
        database.dispose(self.engine)

    def receive(self, message: Inbound, now: datetime | None = None) -> str:
        """Handle one inbound message exactly once and return the reply's text ("" for none)."""
        now = now or self.clock.now()
        if not self.ready().catalog.watched:  # a command or a test's app: no watcher, look now
            self.catalog.refresh()
        self.catalog.ensure_available()  # never "no survey" for a folder it could not read
        try:
            return self._receive(message, now)
        except (IntegrityError, self.engine.dialect.dbapi.IntegrityError):
            # The same MessageSid committed by another worker a moment ago (the
            # hot path runs on the driver's cursor, so its errors come unwrapped).
            with self.engine.connect() as conn:
                reply = store.stored_reply(db=conn, message_sid=message.sid)
            if reply is None:
                raise
            return reply

    def _receive(self, message: Inbound, now: datetime) -> str:
        """Decide, then write in one transaction that holds the phone's lock.

        On SQLite every writer queues for the whole database, so the decision
        is made before queueing and only checked under the lock: made again
        if the number's state changed in between (another of its messages).
        """
        self.surveys.pending.clear()
        with database.Writer(self.engine, message.phone) as writer:
            early = None
            if writer.reads_ahead:  # None when only the lock can decide (an arm, a complete)
                early = self._decide(writer.ahead(), message, now, locked=False)
                if early is not None and early.effects is None:  # a redelivery: final
                    return early.reply
            with writer.transaction() as tx:
                decision = early
                fresh = store.read(db=tx, phone=message.phone, sid=message.sid, test=message.test)
                if early is None or fresh.row != early.found.row:
                    decision = self._decide(tx, message, now, fresh)
                if decision.effects is None:  # a redelivery: same reply, nothing changes
                    return decision.reply
                inbound = store.Inbound(message.sid, message.body, decision.reply)
                known = fresh.cases()
                self._apply(tx, message.phone, decision.effects, now, inbound, message.test, known)
        self.surveys.committed()
        return decision.reply

    def _decide(
        self, db, message: Inbound, now, found: store.Found | None = None, locked: bool = True
    ) -> Decision | None:
        """Read the number's situation (unless given) and decide what changes and the reply.

        None when `locked` is false and the decision needs the lock (module docstring of
        storage/design.py): the caller decides again in its transaction.
        """
        found = found or store.read(db=db, phone=message.phone, sid=message.sid, test=message.test)
        reply, situation = found.unpack()
        if reply is not None:
            return Decision(found, reply, None)
        situation.test = message.test
        self.resolve(situation)

        def handle(known: Situation) -> Effects:
            return self.conversation.handle(known, message.body, now=now, media=message.media)

        effects = self._engine(db, situation, handle, locked)
        if effects is None:
            return None
        effects = self._encoded(effects, situation.run)
        return Decision(found, effects.reply or "", effects)

    def _engine(self, db, situation: Situation, decide, locked: bool) -> Effects | None:
        """Run the engine, loading what it asks for, and count the completes it makes.

        A study's quota counts and arms live in storage (SPEC 12): the engine says what
        it needs, the service loads it and asks again. A complete is counted in the
        same transaction; when a quota filled up meanwhile, the engine decides again
        knowing it is full. None: it needs the lock and `locked` is false.
        """
        run = situation.run
        if run is not None and run.survey is not None and design.counted(run.survey):
            self._load(db, situation, (COUNTS, run.survey_id), locked)
        while True:
            effects = decide(situation)
            if effects.needs is not None:
                if not self._load(db, situation, effects.needs, locked):
                    return None
            elif effects.completes and not locked:
                return None
            elif not effects.completes or self._counted(db, situation, effects):
                return effects

    def _load(self, db, situation: Situation, need: tuple[str, str], locked: bool) -> bool:
        """Load what the engine needs into `situation`; False when that needs the lock."""
        kind, survey_id = need
        if kind == COUNTS:
            # The stored counts only: a quota new in this version has none until its first
            # complete works it out, under the lock (design_store.count_complete). Working
            # it out here would read every completed session on every message meanwhile.
            situation.counts[survey_id] = design_store.quota_counts(db=db, survey_id=survey_id)
            return True
        if not locked:  # drawing an arm writes: only under the lock
            return False
        arm = design_store.case_arm(db=db, phone=situation.phone, survey_id=survey_id)
        survey = self.catalog.get(survey_id)  # the version the engine is starting
        situation.arms[survey_id] = arm or design_store.next_arm(db=db, survey=survey)
        return True

    def _counted(self, db, situation: Situation, effects: Effects) -> bool:
        """Count a decision's completes; False when a quota it counts toward filled first."""
        for run, keys, quotas in effects.completes:
            quota = design_store.count_complete(
                db=db, survey_id=run.survey_id, keys=keys, quotas=quotas
            )
            if quota is not None:
                situation.counts.setdefault(run.survey_id, {})[quota.key] = quota.target
                return False
        return True

    def resolve(self, situation: Situation) -> Situation:
        """Give the open session (or the one an opt-out ended) its survey version: all the
        engine may not have."""
        for run in (situation.run, situation.ended):
            if run is not None and run.survey is None:
                run.survey = self.surveys.version(run.survey_id, run.version)
        return situation

    def start(
        self,
        conn,
        phone: str,
        survey: Survey,
        now: datetime,
        situation=None,
        test=False,
        language: str | None = None,
        arm: str | None = None,
    ):
        """Start `survey` for `phone` in an open, locked transaction: (effects, session id).

        The session is in `language` when the survey has it, else in the survey's default;
        a test session takes `arm` when given (flask simulate --arm).
        """
        situation = self.resolve(situation or store.situation(db=conn, phone=phone, test=test))
        situation.test, situation.test_arm = test, arm
        effects = self._engine(
            conn,
            situation,
            lambda known: self.conversation.begin(known, survey, now=now, language=language),
            locked=True,
        )
        effects = self._encoded(effects)
        return effects, self._apply(conn, phone, effects, now, test=test)

    def preview(self, situation, survey: Survey, now: datetime, language=None) -> str | None:
        """The first message `start` would send, as sent; nothing written (a dry run)."""
        effects = self.conversation.begin(situation, survey, now=now, language=language)
        return self._encoded(effects).reply

    def try_start(self, phone: str, survey: Survey, sid: str) -> str | None:
        """Start a test session (the studio's try page), logged like a message; its reply.

        Logged under `sid` with an empty body, so the page shows the whole
        conversation from the database, as every worker sees it.
        """
        now = self.clock.now()
        self.surveys.pending.clear()
        with database.locked(self.ready().engine, phone) as conn:
            situation = self.resolve(store.situation(db=conn, phone=phone, test=True))
            situation.test = True
            effects = self._engine(
                conn, situation, lambda known: self.conversation.begin(known, survey, now=now), True
            )
            effects = self._encoded(effects)
            inbound = store.Inbound(sid, "", effects.reply or "")
            self._apply(conn, phone, effects, now, inbound, test=True)
        self.surveys.committed()
        return effects.reply

    def reminder(self, run, now: datetime, recontact: bool = False) -> str | None:
        """The reminder for an open session, as sent (Smart Encoding applied where asked).

        A re-contact of a survey without `reminder` leads with a built-in line.
        """
        run.survey = run.survey or self.surveys.version(run.survey_id, run.version)
        return _encode(run.survey, self.conversation.remind(run, now, fallback=recontact))

    def _encoded(self, effects: Effects, open_run=None) -> Effects:
        """The effects with their reply in GSM-7 look-alikes when its survey asks for it."""
        run = effects.runs[-1] if effects.runs else open_run
        if run is None or not effects.reply:
            return effects
        return replace(effects, reply=_encode(run.survey, effects.reply))

    def _apply(
        self, conn, phone: str, effects: Effects, now, inbound=None, test=False, known=None
    ) -> int | None:
        """Write effects with one storage call, with the survey versions new sessions use.

        `test`: from a test number (simulate, the try page), whose STOP opts out its tests only;
        `known`: the cases read with the situation (`Found.cases`).
        """
        versions = self.surveys.unstored(effects)
        cases = self._cases(effects, message=inbound is not None)
        return store.apply(
            db=conn,
            phone=phone,
            effects=effects,
            now=now,
            inbound=inbound,
            versions=versions,
            test=test,
            cases=cases,
            known=known,
        )

    def _cases(self, effects: Effects, *, message: bool) -> tuple:
        """What the runs a message (or a start) changed tell their cases; tests have none."""
        return tuple(
            (run, outcomes.note(run, self._survey_of(run), message=message))
            for run in effects.runs
            if not run.test
        )

    def _survey_of(self, run) -> Survey | None:
        """The survey version a run is on: the one the engine was given, else looked up."""
        return run.survey or self.surveys.version(run.survey_id, run.version)

    def standing(self, survey: Survey) -> list[tuple[str, int, int]]:
        """A survey's target and quotas with their counts (bot.design.standing)."""
        if not design.counted(survey):
            return []
        with self.engine.connect() as conn:
            counts = design_store.quota_counts(db=conn, survey_id=survey.id, quotas=survey.quotas)
        return design.standing(survey, counts)

    def closed(self, survey: Survey) -> bool:
        """Whether a survey has its target of completes: it starts nothing new (SPEC 12)."""
        return any(what == "target" and n >= wanted for what, n, wanted in self.standing(survey))

    def situation(self, phone: str, test: bool = False) -> Situation:
        """What is known about a number now: its real sessions, or with `test` its test ones."""
        with self.engine.connect() as conn:
            return store.situation(db=conn, phone=phone, test=test)

    # -- carrier events ---------------------------------------------------

    def delivery(self, *, sid: str, status: str, error_code: int | None) -> None:
        """A status callback: follow the message's delivery; an opt-out at Twilio opts out."""
        now = self.clock.now()
        with self.ready().engine.begin() as conn:
            changed = store.record_delivery(
                db=conn, sid=sid, status=status, error_code=error_code, now=now
            )
            if changed and error_code != VALIDITY_EXPIRED:
                store.note_delivery(db=conn, sid=sid, status=status, error_code=error_code)
            if error_code == VALIDITY_EXPIRED:
                # Twilio dropped it unsent: as if it had never been sent, so a later run sends it.
                store.unsend(db=conn, sid=sid)
            elif error_code == CARRIER_OPT_OUT:
                phone = store.recipient(db=conn, sid=sid)
                if phone is not None:
                    carrier_opt_out(conn, phone, now)

    # -- export -----------------------------------------------------------

    def export_csv(
        self,
        survey_id: str,
        *,
        fmt: str = "wide",
        arm: str | None = None,
        status: str | None = None,
        since: date | None = None,
        until: date | None = None,
        hash_phones: bool = False,
        labels: bool = False,
        multi_columns: bool = False,
        include_tests: bool = False,
    ) -> Iterator[str]:
        """The CSV of a survey, served or retired, in chunks; UnknownSurvey before any chunk."""
        survey = self.ready().surveys.find(survey_id)
        history = self.surveys.history(survey.id)
        query = replace(
            self.query(
                survey, arm=arm, status=status, since=since, until=until, tests=include_tests
            ),
            hash_key=self.phone_hash_key() if hash_phones else None,
            labels=_labels([survey, *history]) if labels else None,
            multi_columns=_multi_choices(survey, history) if multi_columns else {},
        )
        columns = self.surveys.columns(survey) if fmt == "wide" else []
        with self.engine.connect() as conn:
            export.probe(conn)
        return self._stream(query, columns, fmt)

    def export_research(
        self,
        survey_id: str,
        target: Path,
        *,
        fmt: str,
        hash_phones: bool = False,
        include_tests: bool = False,
        **filters,
    ) -> None:
        """Write a research export (SPEC 13) of a survey, served or retired; UnknownSurvey.

        `filters` are the CSV export's session filters (status, since, until...), by name.
        """
        survey = self.ready().surveys.find(survey_id)
        history = self.surveys.history(survey.id)
        versions = [survey, *(older for older in history if older.version != survey.version)]
        query = replace(
            self.query(survey, tests=include_tests, **filters),
            hash_key=self.phone_hash_key() if hash_phones else None,
            multi_columns=_multi_choices(survey, history),
        )
        found = research.variables(export.wide_head(query), survey, history)
        now = self.clock.now()
        with _written(target, fmt) as path, self.engine.connect() as conn:
            if fmt in statfiles.FORMATS:
                statfiles.write(conn, query, found, fmt, path)
            elif fmt == CODEBOOK:
                tally = codebook.counts(conn, query, found)
                text = codebook.codebook(versions, found, tally, _described(filters, query), now)
                path.write_text(text, encoding="utf-8")
            else:
                key = self.phone_hash_key()
                seen = store.first_seen(db=conn, survey_id=survey.id)
                made = floip.descriptor(versions, key, seen, now)
                known = made["resources"][0]["schema"]["questions"]
                floip.write(path, made, floip.responses(conn, query, known, key))

    def query(self, survey: Survey, *, tests: bool = False, **filters) -> export.Query:
        """The sessions of a survey that `filters` pick (version, language, status, dates)."""
        return export.Query(
            survey_id=survey.id,
            idle_before=survey.idle_before(self.clock.now()),
            default_language=default_language(survey),
            include_tests=tests,
            **filters,
        )

    def results(self, survey_id: str, *, tests: bool = False, **filters) -> results.Results:
        """The studio's results of a survey for the sessions `filters` pick; UnknownSurvey."""
        survey = self.ready().surveys.find(survey_id)
        older = self.surveys.history(survey.id)
        with self.engine.connect() as conn:
            return results.results(conn, self.query(survey, tests=tests, **filters), survey, older)

    def outcomes(
        self,
        survey_id: str,
        *,
        e: float | None = None,
        walk_ins: bool = False,
        since: date | None = None,
        until: date | None = None,
        arm: str | None = None,
    ) -> dict:
        """A survey's dispositions and rates (SPEC 11), as its JSON; UnknownSurvey."""
        survey = self.ready().surveys.find(survey_id)
        with self.engine.connect() as conn:
            tally = cases.tally(
                conn,
                survey_id=survey.id,
                idle_before=survey.idle_before(self.clock.now()),
                walk_ins=walk_ins,
                since=_day_start(since),
                until=_day_start(until, after=True),
                arm=arm,
            )
        report = outcomes.report(survey.id, tally, e)
        report["quotas"] = [  # SPEC 12: the target first, then each quota, counted
            {"when": what, "count": n, "target": wanted, "full": n >= wanted}
            for what, n, wanted in self.standing(survey)
        ]
        return report

    def summary(self, survey: Survey, *, tests: bool = False) -> results.Summary:
        """A survey's sessions by status, completion rate and last activity."""
        with self.ready().engine.connect() as conn:
            return results.summary(conn, self.query(survey, tests=tests))

    def transcript(self, phone: str) -> list[tuple[str, str]]:
        """A number's messages in order: (body, reply's text) each."""
        with self.ready().engine.connect() as conn:
            return results.transcript(conn, phone)

    def stored_surveys(self) -> dict[str, int]:
        """Every survey id with stored sessions' versions, and how many versions."""
        with self.ready().engine.connect() as conn:
            return results.stored_surveys(conn)

    def _stream(self, query: export.Query, columns: list[str], fmt: str) -> Iterator[str]:
        """The export's lines, read in one connection held while they are consumed."""
        with self.engine.connect() as conn:
            database.long_reads(conn)  # a big export takes time; its waits stay bounded
            if fmt == "wide":
                yield from export.csv_lines(export.wide_rows(conn, query, columns))
            else:
                yield from export.long_csv(conn, query)

    def phone_hash_key(self) -> bytes:
        """The key for hashed phone numbers, kept in the database so every machine agrees."""
        with self.engine.begin() as conn:
            return store.secret(db=conn, name="phone_hash_key")


def survey_languages(survey: Survey) -> tuple[str, ...]:
    """A survey's language codes, the default first (English for a survey without any)."""
    # `Survey.languages` comes with the languages work (SPEC 7); until then, English.
    return getattr(survey, "languages", None) or ("en",)


def default_language(survey: Survey) -> str:
    """The language of a session that stored none: the survey's first."""
    return survey_languages(survey)[0]


def _day_start(day: date | None, after: bool = False) -> datetime | None:
    """The UTC midnight that starts `day` (with `after`, the one that ends it).

    None (no bound) for none, and for the end of the last day there is (9999-12-31).
    """
    if day is None or (after and day == date.max):
        return None
    return datetime.combine(day + timedelta(days=int(after)), datetime.min.time(), UTC)


def _labels(versions: list[Survey]) -> dict[tuple[str, str], dict[str, str]]:
    """(version, question id) -> choice value -> label, for every version's choice questions."""
    return {
        (survey.version, question.id): {c.value: c.label for c in question.choices}
        for survey in versions
        for question in survey.questions
        if question.choices
    }


def _written(target: Path, fmt: str):
    """Where an export is written: a file beside `target` moved onto it once whole.

    A Flow Results folder is written in place: a folder cannot replace another.
    """
    if fmt not in statfiles.FORMATS and fmt != CODEBOOK and not floip.zipped(target):
        return nullcontext(target)
    return research.replaced(target)


def _described(filters: dict, query: export.Query) -> str:
    """Which sessions an export holds, in words."""
    said = [f"{name} {value}" for name, value in filters.items() if value is not None]
    said.append("test sessions included" if query.include_tests else "test sessions left out")
    return "; ".join(said)


def _multi_choices(survey: Survey, history: list[Survey]) -> dict[str, tuple[str, ...]]:
    """Each multi question's choice values: the newest version's, then values only older had."""
    found: dict[str, list[str]] = {}
    for version in [survey, *history]:
        for question in version.questions:
            if question.type == "multi":
                known = found.setdefault(question.id, [])
                known += [c.value for c in question.choices if c.value not in known]
    return {qid: tuple(choices) for qid, choices in found.items()}


def carrier_opt_out(conn, phone: str, now: datetime) -> None:
    """Twilio refused a number because it opted out (21610): opt it out here too.

    The same from both paths that learn it (a status callback, a failed send):
    the number is opted out and every open session of it ends as opted out,
    as if the person had texted STOP to the bot.
    """
    store.opt_out_everywhere(db=conn, phone=phone, now=now)


def _encode(survey: Survey | None, text: str | None) -> str | None:
    """`text` after Twilio's Smart Encoding replacements when the survey sets smart_encoding."""
    return as_sent(text, survey.smart_encoding) if text and survey is not None else text
