"""Twilio's Messages API for `flask invite` and `flask remind`, on one shared urllib3 pool."""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
import time
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from twilio.base.exceptions import TwilioException
from urllib3.exceptions import ConnectTimeoutError, HTTPError

from service import Clock
from storage.messaging import CARRIER_OPT_OUT

INVALID_CODES = {21211: "invalid number", 21614: "not a mobile number"}
TRIES = 4  # per message, for 429, 5xx and an unreachable API
RETRY_DELAY = 1.0  # seconds before the first retry; doubles each time (TWILIO_RETRY_DELAY)
TIMEOUT = 30  # seconds to wait for Twilio's answer to one request
CONNECT_TIMEOUT = 10  # seconds to wait for a connection to Twilio
MAX_VALIDITY = 36000  # seconds: the longest ValidityPeriod Twilio takes (10 hours)


@dataclass(frozen=True)
class Sent:
    """Twilio took a message: its sid and first status."""

    sid: str
    status: str


class SendError(Exception):
    """Twilio did not take a message, and what that means for the run."""

    def __init__(
        self,
        reason: str,
        code: int | None = None,
        detail: str = "",
        *,
        retry: bool = False,
        unsure: bool = False,
        fatal: bool = False,
    ):
        super().__init__(reason)
        self.reason, self.code, self.detail = reason, code, detail or reason
        self.retry = retry  # worth another try after a pause
        self.unsure = unsure  # Twilio may have taken it: keep it pending
        self.fatal = fatal  # no message can go: stop the run


class Twilio:
    """Twilio's Messages API for one account and sender; threads share it, one client each."""

    def __init__(self, config, concurrency: int = 8, clock: Clock | None = None):
        self.clock = clock or Clock()  # what a message's validity is counted on
        self.account_sid = config["TWILIO_ACCOUNT_SID"]
        self.auth_token = config["TWILIO_AUTH_TOKEN"]
        self.api_url = config["TWILIO_API_URL"]  # Twilio, or a compatible endpoint or test double
        self.delay = float(config.get("TWILIO_RETRY_DELAY", RETRY_DELAY))
        service = config.get("TWILIO_MESSAGING_SERVICE_SID")
        self.options = (  # a Messaging Service picks the sender itself
            {"messaging_service_sid": service}
            if service
            else {"from_": config["TWILIO_FROM_NUMBER"]}
        )
        if config.get("PUBLIC_URL"):
            self.options["status_callback"] = config["PUBLIC_URL"].rstrip("/") + "/sms/status"
        self.http = _http_class()(self.api_url, concurrency)
        self._local = threading.local()

    def _client(self) -> Client:  # noqa: F821 (twilio.rest, imported on first use)
        """This thread's client, on the shared connection pool."""
        client = getattr(self._local, "client", None)
        if client is None:
            from twilio.rest import Client

            client = Client(self.account_sid, self.auth_token, http_client=self.http)
            client.api.base_url = self.api_url  # Twilio, or a compatible endpoint or test double
            self._local.client = client
        return client

    def send(self, to: str, body: str, validity: int | None = None) -> Sent:
        """Send one SMS, retrying 429, 5xx and an unreachable API with exponential backoff.

        `validity`: seconds Twilio may keep it queued before dropping it (ValidityPeriod),
        counted from this call: a retry gets what is left of it.
        """
        started = self.clock.monotonic()
        for attempt in itertools.count(1):
            try:
                return self._create(to, body, _left(validity, self.clock.monotonic() - started))
            except SendError as err:
                if not err.retry or attempt == TRIES:
                    err.reason += f" after {TRIES} tries" if err.retry else ""
                    raise
            # Jitter, so that threads throttled together do not all come back together.
            time.sleep(self.delay * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))

    def _create(self, to: str, body: str, validity: int | None) -> Sent:
        """One request for one message; any failure as a SendError."""
        options = dict(self.options)
        if validity is not None:
            options["validity_period"] = validity
        try:
            message = self._client().messages.create(to=to, body=body, **options)
        except TwilioException as err:
            raise _twilio_error(err) from err
        except HTTPError as err:
            raise _network_error(err) from err
        return Sent(message.sid, str(message.status))


def _http_class() -> type:
    """The `Http` class, made on first use.

    twilio.http imports requests: a fifth of a second and several MB at the
    start of every command (`flask export` included) that never sends.
    """
    global _HTTP
    if _HTTP is None:
        from twilio.http import HttpClient
        from twilio.http.response import Response

        class Http(HttpClient):
            """twilio's HTTP interface on one urllib3 pool that every sending thread shares.

            twilio's default client goes through requests, whose per-call work (merging
            the environment's proxy settings, preparing hooks and cookies) cost more CPU
            than the rest of a send, and a run is CPU-bound under the GIL. urllib3, which
            requests itself sits on, is thread-safe, so one pool serves all threads.
            """

            def __init__(self, base_url: str, size: int):
                super().__init__(logging.getLogger("twilio.http_client"), False, TIMEOUT)
                options = {
                    "maxsize": size,
                    "retries": False,  # Twilio.send decides what is retried
                    "timeout": urllib3.Timeout(connect=CONNECT_TIMEOUT, read=TIMEOUT),
                    "ca_certs": certifi.where(),  # the certificates requests would use
                }
                proxy = _proxy_for(base_url)
                self.proxied = proxy is not None
                self._pools: dict = {}  # scheme://host:port -> that host's connection pool
                self.pool = (
                    urllib3.ProxyManager(proxy, **options)
                    if proxy
                    else urllib3.PoolManager(**options)
                )

            def request(
                self,
                method: str,
                uri: str,
                params=None,
                data=None,
                headers=None,
                auth=None,
                timeout=None,
                allow_redirects: bool = False,
            ) -> Response:
                """One request, as twilio's own client would make it (urllib3's errors pass)."""
                headers = dict(headers or {})
                if auth:
                    headers["Authorization"] = (
                        "Basic " + b64encode(":".join(auth).encode()).decode()
                    )
                if params:
                    uri += "?" + urlencode(params, doseq=True)
                body = None
                if data is not None:
                    json_body = headers.get("Content-Type", "").endswith("json")
                    body = json.dumps(data) if json_body else urlencode(data, doseq=True)
                pool, target = self._route(uri)
                answer = pool.urlopen(
                    method.upper(),
                    target,
                    body=body,
                    headers=headers,
                    redirect=allow_redirects,
                    **(
                        {"timeout": timeout} if timeout else {}
                    ),  # else the pool's connect and read limits
                )
                return Response(
                    answer.status, answer.data.decode("utf-8", "replace"), answer.headers
                )

            def _route(self, uri: str):
                """The pool to send `uri` through, and what to ask it for.

                Without a proxy, the host's own pool and the path: a PoolManager would
                parse the whole URL again on every request.
                """
                slash = uri.find("/", uri.find("//") + 2)
                if self.proxied or slash < 0:
                    return self.pool, uri
                origin = uri[:slash]
                pool = self._pools.get(origin)
                if pool is None:
                    pool = self._pools.setdefault(origin, self.pool.connection_from_url(origin))
                return pool, uri[slash:]

        _HTTP = Http
    return _HTTP


_HTTP: type | None = None


def __getattr__(name: str):
    """`Http` made on first use (PEP 562), for `from outbound.client import Http`."""
    if name == "Http":
        return _http_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _left(validity: int | None, spent: float) -> int | None:
    """What is left of a ValidityPeriod after `spent` seconds; a SendError once nothing is."""
    if validity is None:
        return None
    left = validity - int(spent)
    if left < 1:
        raise SendError("its validity ran out while Twilio was busy; the next run sends it")
    return left


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sets for `url` (HTTPS_PROXY and NO_PROXY), as requests reads it."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def _twilio_error(err: TwilioException) -> SendError:
    """What an error answer from Twilio means for the message."""
    status, code = getattr(err, "status", None), getattr(err, "code", None)
    detail = str(getattr(err, "msg", "") or getattr(err, "detail", "") or err)
    detail = detail.removeprefix("Unable to create record: ")  # the client's own preamble
    if code == CARRIER_OPT_OUT:
        return SendError(f"opted out at Twilio ({code})", code, detail)
    if code in INVALID_CODES:
        return SendError(f"{INVALID_CODES[code]} ({code})", code, detail)
    if status == 401:
        return SendError("Twilio refused the credentials (401)", code, detail, fatal=True)
    retry = status == 429 or (status or 0) >= 500
    reason = f"HTTP {status} from Twilio" if retry else f"Twilio error {code or status}"
    return SendError(reason, code or status, detail, retry=retry)


def _network_error(err: HTTPError) -> SendError:
    """A request that got no answer: retried only when it cannot have reached Twilio."""
    if isinstance(err, ConnectTimeoutError):  # no connection (refused, unknown host, timeout)
        return SendError("cannot reach Twilio", detail=str(err), retry=True)
    return SendError(
        "no answer from Twilio",
        detail=f"{type(err).__name__}; it may have been sent, the next run sends it once more",
        unsure=True,
    )
