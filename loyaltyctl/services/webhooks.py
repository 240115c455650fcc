"""Webhook delivery, done by `maintain run`: signed POSTs with retries and backoff.

Each delivery is one HTTP POST of the body fixed when it was queued, with:

    Content-Type: application/json
    User-Agent: loyaltyctl/<version>
    X-Loyaltyctl-Event: claim.created            (also in the body as "event")
    X-Loyaltyctl-Event-Id: evt_<24 hex>          (also in the body as "event_id")
    X-Loyaltyctl-Timestamp: <unix seconds>       (when this attempt was sent)
    X-Loyaltyctl-Signature: sha256=<hex HMAC-SHA256(webhook_secret, "<timestamp>." + body)>

A receiver recomputes the signature with the perk's `webhook_secret` over the raw
body, compares it in constant time, rejects old timestamps (replays), and
de-duplicates by the event id: delivery is at least once, so an event may arrive
twice (the process died between the POST and recording it, or a response was lost).

Any 2xx answer is a delivery. Anything else (another status, a timeout, a refused
connection, a perk without a secret) is a failed attempt: it is tried again after
BACKOFF_FIRST * 2**(attempts - 1), at most BACKOFF_MAX, and given up (status
"failed", reported by `maintain run`, exit 1) when MAX_ATTEMPTS attempts failed.
Backoff runs on the run's clock (`maintain run --now`); the signed timestamp is the
wall clock at sending, since that is what a receiver checks against its own.

Network calls never hold a database transaction open: due deliveries are read in
one short read transaction, posted, and the results recorded in one write
transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from loyaltyctl import __version__, crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import KeysInvalid
from loyaltyctl.domain.perks import perk_secret_binding
from loyaltyctl.store import webhooks as store
from loyaltyctl.store.db import Database, Session

MAX_ATTEMPTS = 8  # failed attempts before a delivery is given up (about 2 hours of retries)
BACKOFF_FIRST = timedelta(minutes=1)  # wait after the first failure, doubled after each one
BACKOFF_MAX = timedelta(hours=6)  # the longest wait between two attempts
TIMEOUT_SECONDS = 10.0  # per POST: connecting and each read
# Stop starting new POSTs after this long, so a run with many slow receivers ends
# well inside the maintenance lock's lease (15 minutes); the rest wait for the next run.
SEND_BUDGET_SECONDS = 8 * 60.0

NO_SECRET = "the perk has no webhook_secret"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Loyaltyctl-Signature header: HMAC-SHA256 over "<timestamp>." + body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(*, event: str, event_id: str, timestamp: int, signed: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"loyaltyctl/{__version__}",
        "X-Loyaltyctl-Event": event,
        "X-Loyaltyctl-Event-Id": event_id,
        "X-Loyaltyctl-Timestamp": str(timestamp),
        "X-Loyaltyctl-Signature": signed,
    }


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt (n >= 1)."""
    return min(BACKOFF_FIRST * 2 ** (failed_attempts - 1), BACKOFF_MAX)


def _network_error(exc: BaseException) -> str:
    """A short one-line reason for a failed POST."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ConnectionResetError):
        return "connection reset"
    if isinstance(reason, socket.gaierror):
        return "host not found"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "connection closed without a response"
    text = str(getattr(reason, "strerror", None) or reason).strip()
    return text.splitlines()[0] if text else type(reason).__name__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: urllib would re-send the POST as a GET
    (without the body) and count its 2xx as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS
) -> tuple[bool, str | None]:
    """POST ``body``; (True, None) on a 2xx answer, else (False, a one-line reason)."""
    # urllib also opens file: and ftp: URLs; a webhook is only ever sent over HTTP(S)
    if not url.lower().startswith(("http://", "https://")):
        return False, "not an http(s) URL"
    try:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    except ValueError as exc:
        return False, f"bad URL: {exc}"
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        return False, _network_error(exc)
    if 200 <= status < 300:
        return True, None
    return False, f"HTTP {status}"


def _secret(keys: KeyRing, delivery: store.DueDelivery) -> tuple[str | None, str | None]:
    """(the perk's webhook secret, None), or (None, why it cannot be had)."""
    if not delivery.webhook_secret_enc:
        return None, NO_SECRET
    try:
        return keys.decrypt(
            delivery.webhook_secret_enc,
            bound_to=perk_secret_binding(delivery.perk_slug, "webhook_secret"),
        ), None
    except KeysInvalid as exc:  # this perk's secret only: the other perks still go out
        return None, exc.message


def _attempt(delivery: store.DueDelivery, secret: str) -> str | None:
    """Send one delivery; None when delivered, else why not."""
    body = delivery.payload.encode()
    timestamp = int(time.time())
    ok, error = post(
        delivery.url,
        body,
        headers(
            event=delivery.event,
            event_id=delivery.event_id,
            timestamp=timestamp,
            signed=signature(secret, timestamp, body),
        ),
    )
    return None if ok else error


def deliver_due(
    *, db: Database, keys: KeyRing, now: datetime, limit: int = 500
) -> models.WebhookReport:
    """POST every delivery due at ``now`` (at most ``limit``) and record the results."""
    due = db.run(lambda s: store.due(s, now=now, limit=limit), write=False, rollback=True)
    if not due:
        return models.WebhookReport()
    outcomes: list[tuple[store.DueDelivery, str | None]] = []
    secrets: dict[str, tuple[str | None, str | None]] = {}  # by perk slug
    blocked_claims: set[str] = set()  # an earlier event of the claim failed in this run
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    for delivery in due:
        if time.monotonic() > deadline:
            break
        if delivery.claim_id in blocked_claims:
            continue
        if delivery.perk_slug not in secrets:
            secrets[delivery.perk_slug] = _secret(keys, delivery)
        secret, error = secrets[delivery.perk_slug]
        sent = secret is not None
        if sent:
            error = _attempt(delivery, secret)
            crash.reached("webhook-after-post")
        if error is not None:
            blocked_claims.add(delivery.claim_id)
        outcomes.append((delivery, error, sent))
    return db.run(lambda s: _record(s, outcomes, now))


def _record(
    session: Session,
    outcomes: list[tuple[store.DueDelivery, str | None, bool]],
    now: datetime,
) -> models.WebhookReport:
    delivered = retrying = 0
    failures: list[models.WebhookFailure] = []
    for delivery, error, sent in outcomes:
        attempts = delivery.attempts + 1
        gives_up = error is not None and attempts >= MAX_ATTEMPTS
        retry_at = None if error is None or gives_up else now + retry_delay(attempts)
        recorded = store.record_result(
            session,
            delivery_id=delivery.id,
            seen_attempts=delivery.attempts,
            now=now,
            error=error,
            retry_at=retry_at,
        )
        if not recorded:
            # cancelled while it was being sent: the receiver may have it (even a timeout
            # may have arrived), so it is told of the cancel too
            if sent:
                store.follow_with_cancel(session, delivery_id=delivery.id, now=now)
            continue
        if error is None:
            delivered += 1
        elif gives_up:
            failures.append(
                models.WebhookFailure(
                    event_id=delivery.event_id,
                    event=delivery.event,
                    claim_id=delivery.claim_id,
                    perk=delivery.perk_slug,
                    attempts=attempts,
                    error=store.one_line(error),
                )
            )
        else:
            retrying += 1
    return models.WebhookReport(
        delivered=delivered, retrying=retrying, failed=len(failures), failures=tuple(failures)
    )
