"""Webhook delivery by `maintain run`, against a real HTTP server on 127.0.0.1.

The receiver answers from a script (e.g. 500, 500, then 200) and records every
request, so the tests see exactly what went over the wire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from loyaltyctl.domain.errors import KeysMissing
from loyaltyctl.domain.perks import perk_secret_binding
from loyaltyctl.domain.values import iso_utc, utcnow
from loyaltyctl.services import ledger
from loyaltyctl.services.maintenance import maintain
from loyaltyctl.services.webhooks import (
    BACKOFF_MAX,
    MAX_ATTEMPTS,
    NO_SECRET,
    post,
    retry_delay,
)
from loyaltyctl.store.tables import Claim, Member, Perk, WebhookDelivery
from loyaltyctl.store.webhook_queue import cancel_queued, queue_delivery
from loyaltyctl.store.webhooks import ERROR_MAX_CHARS, one_line, record_result

SECRET = "s3cret"


class Receiver:
    """What the test server saw, and what it answers next."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int] = []  # statuses to answer, in order
        self.default = 200  # once the script is used up
        self.delay = 0.0
        self.url = ""
        self._lock = threading.Lock()

    def answer(self, path: str, headers, body: bytes) -> int:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            return self.script.pop(0) if self.script else self.default

    @property
    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer(self.path, dict(self.headers), body)
            time.sleep(state.delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.url + "/moved")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST  # noqa: N815 - what a followed redirect would send

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/claims"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a local port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def add_perk(db, keys, url: str, *, slug: str = "vip-call", secret: str | None = SECRET) -> int:
    now = utcnow()
    perk = Perk(
        slug=slug,
        name="VIP call",
        price=100,
        category="experience",
        redemption_type="webhook",
        webhook_url=url,
        webhook_secret_enc=(
            keys.encrypt(secret, bound_to=perk_secret_binding(slug, "webhook_secret"))
            if secret is not None
            else None
        ),
        created_at=now,
        updated_at=now,
    )

    def work(session):
        session.add(perk)
        session.flush()
        return perk.id

    return db.run(work)


def add_claim(db, perk_id: int, claim_id: str = "cl_1", member: str = "C-1") -> str:
    def work(session):
        member_id = session.execute(
            select(Member.id).where(Member.external_id == member)
        ).scalar_one()
        session.add(
            Claim(
                id=claim_id,
                perk_id=perk_id,
                member_id=member_id,
                at=utcnow(),
                points=100,
                operator="tester",
                certificate_id=f"cert-{claim_id}",
                certificate="{}",
            )
        )
        return claim_id

    return db.run(work)


def queue(db, perk_id: int, claim_id: str, url: str, now, event: str = "claim.created") -> str:
    payload = {"claim_id": claim_id, "perk": "vip-call", "member": "C-1", "points": 100}
    return db.run(
        lambda s: queue_delivery(
            s, claim_id=claim_id, perk_id=perk_id, event=event, url=url, payload=payload, now=now
        )
    )


def deliveries(db) -> list[WebhookDelivery]:
    return db.run(
        lambda s: list(s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars()),
        write=False,
        rollback=True,
    )


def one_delivery(db) -> WebhookDelivery:
    (row,) = deliveries(db)
    return row


@pytest.fixture
def queued(db, keys, member, receiver):
    """One claim.created queued for a webhook perk pointing at the receiver."""
    member("C-1")
    now = utcnow()
    perk_id = add_perk(db, keys, receiver.url)
    claim_id = add_claim(db, perk_id)
    event_id = queue(db, perk_id, claim_id, receiver.url, now)
    return {"now": now, "perk_id": perk_id, "claim_id": claim_id, "event_id": event_id}


def test_queueing_stores_canonical_json_with_the_event_id(db, queued):
    row = one_delivery(db)
    assert re.fullmatch(r"evt_[0-9a-f]{24}", queued["event_id"])
    assert (row.event_id, row.status, row.attempts) == (queued["event_id"], "queued", 0)
    assert row.next_attempt_at == queued["now"]
    assert row.payload == (
        f'{{"claim_id":"cl_1","event":"claim.created","event_id":"{queued["event_id"]}",'
        '"member":"C-1","perk":"vip-call","points":100}'
    )


def test_a_due_delivery_is_posted_once_signed_and_recorded(db, keys, queued, receiver):
    now = queued["now"]
    result = maintain(db=db, now=now, operator="cron", keys=keys)
    assert (result.webhooks_due, result.webhooks_delivered, result.webhooks_failed) == (1, 1, 0)
    assert result.changed

    (request,) = receiver.requests
    body, headers = request["body"], request["headers"]
    assert request["path"] == "/hooks/claims"
    assert json.loads(body) == {
        "claim_id": "cl_1",
        "perk": "vip-call",
        "member": "C-1",
        "points": 100,
        "event": "claim.created",
        "event_id": queued["event_id"],
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("loyaltyctl/")
    assert headers["X-Loyaltyctl-Event"] == "claim.created"
    assert headers["X-Loyaltyctl-Event-Id"] == queued["event_id"]
    timestamp = int(headers["X-Loyaltyctl-Timestamp"])
    assert abs(timestamp - time.time()) < 60
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Loyaltyctl-Signature"] == "sha256=" + expected.hexdigest()

    row = one_delivery(db)
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 1, now)

    again = maintain(db=db, now=now + timedelta(hours=1), operator="cron", keys=keys)
    assert not again.changed
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_after_the_backoff(db, keys, queued, receiver):
    receiver.script = [500, 500]
    now = queued["now"]
    first = maintain(db=db, now=now, operator="cron", keys=keys)
    assert (first.webhooks_delivered, first.webhooks_retrying, first.webhooks_failed) == (0, 1, 0)
    row = one_delivery(db)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "HTTP 500")
    assert row.next_attempt_at == now + timedelta(minutes=1)

    early = maintain(db=db, now=now + timedelta(seconds=59), operator="cron", keys=keys)
    assert not early.changed and len(receiver.requests) == 1

    second_at = now + timedelta(seconds=61)
    second = maintain(db=db, now=second_at, operator="cron", keys=keys)
    assert second.webhooks_retrying == 1 and len(receiver.requests) == 2
    assert one_delivery(db).next_attempt_at == second_at + timedelta(minutes=2)
    maintain(db=db, now=second_at + timedelta(seconds=119), operator="cron", keys=keys)
    assert len(receiver.requests) == 2

    third = maintain(db=db, now=second_at + timedelta(minutes=2), operator="cron", keys=keys)
    assert (third.webhooks_delivered, third.webhooks_retrying) == (1, 0)
    row = one_delivery(db)
    assert (row.status, row.attempts) == ("delivered", 3)
    # every attempt sends the same body under the same event id
    assert len({r["body"] for r in receiver.requests}) == 1
    assert {r["headers"]["X-Loyaltyctl-Event-Id"] for r in receiver.requests} == {
        queued["event_id"]
    }


def test_a_delivery_is_given_up_after_max_attempts(db, keys, queued, receiver):
    receiver.default = 503
    moment = queued["now"]
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = maintain(db=db, now=moment, operator="cron", keys=keys)
        row = one_delivery(db)
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert (result.webhooks_retrying, result.webhooks_failed, row.status) == (
                1,
                0,
                "queued",
            )
            waits.append(row.next_attempt_at - moment)
            moment = row.next_attempt_at
    assert waits == [timedelta(minutes=2**n) for n in range(MAX_ATTEMPTS - 1)]
    assert (result.webhooks_retrying, result.webhooks_failed) == (0, 1)
    (failure,) = result.webhook_failures
    assert (failure.perk, failure.claim_id, failure.event_id) == (
        "vip-call",
        "cl_1",
        queued["event_id"],
    )
    assert (failure.attempts, failure.error) == (MAX_ATTEMPTS, "HTTP 503")
    assert (row.status, row.last_error) == ("failed", "HTTP 503")
    assert len(receiver.requests) == MAX_ATTEMPTS

    later = maintain(db=db, now=moment + timedelta(days=30), operator="cron", keys=keys)
    assert not later.changed and len(receiver.requests) == MAX_ATTEMPTS
    assert retry_delay(30) == BACKOFF_MAX


def test_a_refused_connection_is_a_failed_attempt_not_a_crash(db, keys, member, closed_port_url):
    member("C-1")
    now = utcnow()
    perk_id = add_perk(db, keys, closed_port_url)
    queue(db, perk_id, add_claim(db, perk_id), closed_port_url, now)
    result = maintain(db=db, now=now, operator="cron", keys=keys)
    assert (result.webhooks_delivered, result.webhooks_retrying) == (0, 1)
    row = one_delivery(db)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "connection refused")


def test_a_perk_without_a_secret_is_a_failed_attempt_and_sends_nothing(db, keys, member, receiver):
    member("C-1")
    now = utcnow()
    perk_id = add_perk(db, keys, receiver.url, secret=None)
    queue(db, perk_id, add_claim(db, perk_id), receiver.url, now)
    result = maintain(db=db, now=now, operator="cron", keys=keys)
    assert result.webhooks_retrying == 1
    assert one_delivery(db).last_error == NO_SECRET
    assert receiver.requests == []


def test_cancelled_deliveries_are_not_sent(db, keys, queued, receiver):
    assert db.run(lambda s: cancel_queued(s, claim_id=queued["claim_id"])) == 1
    result = maintain(db=db, now=queued["now"], operator="cron", keys=keys)
    assert not result.changed
    assert receiver.requests == []
    assert one_delivery(db).status == "cancelled"


def test_a_delivered_event_is_not_cancelled(db, keys, queued, receiver):
    maintain(db=db, now=queued["now"], operator="cron", keys=keys)
    assert db.run(lambda s: cancel_queued(s, claim_id=queued["claim_id"])) == 0
    assert one_delivery(db).status == "delivered"


def test_a_claims_events_reach_the_receiver_in_order(db, keys, queued, receiver):
    now = queued["now"]
    queue(db, queued["perk_id"], queued["claim_id"], receiver.url, now, event="claim.cancelled")
    receiver.script = [500]
    first = maintain(db=db, now=now, operator="cron", keys=keys)
    # claim.created failed, so claim.cancelled waits for it
    assert (first.webhooks_retrying, first.webhooks_delivered) == (1, 0)
    assert receiver.events == ["claim.created"]
    assert [r.attempts for r in deliveries(db)] == [1, 0]
    waiting = maintain(db=db, now=now + timedelta(seconds=30), operator="cron", keys=keys)
    assert not waiting.changed and len(receiver.requests) == 1

    second = maintain(db=db, now=now + timedelta(minutes=1), operator="cron", keys=keys)
    assert second.webhooks_delivered == 2
    assert receiver.events == ["claim.created", "claim.created", "claim.cancelled"]


def test_a_dry_run_counts_due_deliveries_sends_nothing_and_needs_no_key(db, keys, queued, receiver):
    asked = []

    def load():
        asked.append(True)
        return keys

    dry = maintain(db=db, now=queued["now"], operator="cron", dry_run=True, keys=load)
    assert (dry.webhooks_due, dry.webhooks_delivered, dry.webhooks_retrying) == (1, 0, 0)
    assert dry.changed
    assert receiver.requests == [] and asked == []
    row = one_delivery(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 0, queued["now"])

    real = maintain(db=db, now=queued["now"], operator="cron", keys=load)
    assert real.webhooks_delivered == 1 and asked == [True]


def test_keys_are_asked_for_only_when_deliveries_are_due(db, keys, queued, run):
    now = queued["now"]
    run(
        ledger.change_points,
        member="C-1",
        amount=40,
        reason="t",
        operator="t",
        expires_at=now + timedelta(days=1),
    )
    later = now + timedelta(days=2)
    with pytest.raises(KeysMissing):
        maintain(db=db, now=later, operator="cron", keys=None)
    # nothing changed: the lot did not expire and the delivery is still queued
    assert run(ledger.balance, member="C-1").balance == 40
    assert one_delivery(db).attempts == 0

    db.run(lambda s: cancel_queued(s, claim_id=queued["claim_id"]))
    # nothing due: no key is needed (cron users without webhook perks are unaffected)
    result = maintain(db=db, now=later, operator="cron", keys=None)
    assert result.expired_points == 40


def test_a_result_is_recorded_once(db, queued):
    row = one_delivery(db)

    def record(session):
        return record_result(
            session,
            delivery_id=row.id,
            seen_attempts=0,
            now=queued["now"],
            error="HTTP 500",
            retry_at=queued["now"] + timedelta(minutes=1),
        )

    assert db.run(record) is True
    assert db.run(record) is False  # the attempt count moved on: not recorded twice
    assert one_delivery(db).attempts == 1


def test_a_run_out_of_time_leaves_the_rest_queued(db, keys, queued, receiver, monkeypatch):
    from loyaltyctl.services import webhooks

    monkeypatch.setattr(webhooks, "SEND_BUDGET_SECONDS", -1.0)
    result = maintain(db=db, now=queued["now"], operator="cron", keys=keys)
    assert (result.webhooks_due, result.webhooks_delivered, result.webhooks_retrying) == (1, 0, 0)
    assert receiver.requests == []
    row = one_delivery(db)
    assert (row.status, row.attempts) == ("queued", 0)


def test_an_error_is_kept_as_one_short_line():
    assert one_line("HTTP 500\n  upstream\tdown ") == "HTTP 500 upstream down"
    long = one_line("x" * 2000)
    assert len(long) == ERROR_MAX_CHARS and long.endswith("…")


def test_post_reports_timeouts_and_refuses_other_schemes(receiver):
    receiver.delay = 2.0
    assert post(receiver.url, b"{}", {}, timeout=0.3) == (False, "timed out")
    receiver.delay = 0.0
    assert post(receiver.url, b"{}", {}) == (True, None)
    receiver.default = 404
    assert post(receiver.url, b"{}", {}) == (False, "HTTP 404")
    assert post("file:///etc/passwd", b"{}", {}) == (False, "not an http(s) URL")


# --- through the CLI ---------------------------------------------------------------


def test_maintain_run_json_reports_webhooks(cli, db, queued, receiver):
    when = iso_utc(queued["now"] + timedelta(seconds=1))
    result = cli("maintain", "run", "--now", when, "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["webhooks_due"], doc["webhooks_delivered"]) == (1, 1)
    assert (doc["webhooks_retrying"], doc["webhooks_failed"], doc["webhook_failures"]) == (
        0,
        0,
        [],
    )
    assert len(receiver.requests) == 1
    quiet = cli("maintain", "run", "--now", when)
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_maintain_run_exits_1_naming_what_it_gave_up(cli, db, queued, receiver):
    receiver.default = 500
    db.run(
        lambda s: s.execute(
            update(WebhookDelivery).values(attempts=MAX_ATTEMPTS - 1, last_error="HTTP 500")
        )
    )
    when = iso_utc(queued["now"] + timedelta(seconds=1))
    result = cli("maintain", "run", "--now", when, "--json")
    assert result.exit_code == 1
    doc = result.json  # still exactly one JSON document on stdout
    assert (doc["webhooks_failed"], doc["webhook_failures"][0]["claim_id"]) == (1, "cl_1")
    message = " ".join(result.stderr.split())
    assert "vip-call" in message and "cl_1" in message and "HTTP 500" in message
    assert one_delivery(db).status == "failed"

    human = cli("maintain", "run", "--now", when)
    assert (human.exit_code, human.stdout) == (0, "")  # given up once, reported once


def test_maintain_run_with_deliveries_due_and_no_key_file_exits_4(
    cli, db, queued, tmp_path, monkeypatch
):
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(tmp_path / "missing" / "keys.toml"))
    when = iso_utc(queued["now"] + timedelta(seconds=1))  # iso_utc drops the microseconds
    result = cli("maintain", "run", "--now", when, "--json")
    assert result.exit_code == 4
    assert result.json["error"]["code"] == "keys_missing"
    assert one_delivery(db).attempts == 0


def test_a_cancel_while_the_claim_is_being_sent_is_sent_too(db, keys, queued, receiver):
    """The receiver got claim.created during the POST; the claim was cancelled then."""
    original = receiver.answer

    def answer_and_cancel(path, headers, body):
        if not receiver.requests:
            db.run(lambda s: cancel_queued(s, claim_id=queued["claim_id"]))
        return original(path, headers, body)

    receiver.answer = answer_and_cancel
    maintain(db=db, now=queued["now"], operator="cron", keys=keys)
    assert receiver.events == ["claim.created"]
    rows = deliveries(db)
    assert [(r.event, r.status) for r in rows] == [
        ("claim.created", "cancelled"),
        ("claim.cancelled", "queued"),
    ]
    maintain(db=db, now=queued["now"] + timedelta(seconds=1), operator="cron", keys=keys)
    assert receiver.events == ["claim.created", "claim.cancelled"]
    cancelled = json.loads(receiver.requests[1]["body"])
    assert cancelled["claim_id"] == queued["claim_id"] and cancelled["event"] == "claim.cancelled"


def test_a_redirect_is_a_failed_attempt_not_a_delivery(receiver):
    receiver.script = [302]  # then 200 for the GET urllib would send to /moved
    ok, error = post(receiver.url, b"{}", {"Content-Type": "application/json"})
    assert (ok, error) == (False, "HTTP 302")
    assert len(receiver.requests) == 1
