"""Webhooks out (issue #19): the outbox written with the record or reuse, signed delivery through a
receiver that is down, slow, failing, then well, the delivery log, redelivery, and the rebuild."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sohoa.archive import records
from sohoa.archive.backends import Archive, open_archive
from sohoa.archive.rebuild import rebuild
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for
from sohoa.cli import app as cli
from sohoa.core.settings import Settings, get_settings
from sohoa.hooks import delivery, emit, outbox, service
from sohoa.hooks.models import WebhookEvent
from sohoa.hooks.reuse import reuse, withdraw
from sohoa.ingest import pipeline
from sohoa.ingest.base import Original
from sohoa.workers.supervisor import Supervisor
from sohoa.workers.webhooks import WebhookLoop

from conftest import run_sohoa
from webhook_receiver import Receiver, verify

AGENCY = "000.00.12.H36"
DOSSIER = f"{AGENCY}-241105-0003"
LATER = f"{AGENCY}-241203-0011"
SECRET = b"khoa-bi-mat-cua-he-thong-mot-cua-2024"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Backoff of tens of milliseconds: the schedule's shape without the wait.
    return Settings(data_dir=tmp_path / "data", webhook_timeout=0.6, webhook_backoff=0.05, webhook_backoff_max=0.2,
                    webhook_max_attempts=6, webhook_poll=0.1)


@pytest.fixture
def archive(settings: Settings):
    archive = open_archive(settings)
    yield archive
    archive.catalog.dispose()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def receiver():
    made = Receiver(SECRET)
    yield made
    made.stop()


def store(archive: Archive, tmp_path: Path, name: str, kind: Kind = Kind.component, dossier: str | None = DOSSIER,
          catalogue: bool = True, valid_until: date | None = None) -> pipeline.Written:
    """A record written to storage as the store stage leaves it; `catalogue` runs the catalog stage."""
    original = tmp_path / f"{name}.jpg"
    original.write_bytes(f"giấy tờ {name}".encode() * 40)
    pdfa = tmp_path / f"{name}.pdf"
    pdfa.write_bytes(b"%PDF-1.7 " + name.encode())
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    code = f"{dossier}-KQ1" if kind == Kind.result else f"{AGENCY}-TP-{sha[:10].upper()}"
    meta = RecordMetadata(record_id=record_id_for(sha), record_code=code, kind=kind, agency_code=AGENCY,
                          dossier_code=dossier, procedure_code="1.001193", doc_type_code="GKS",
                          doc_type_name="Giấy khai sinh", owner_id="001203012345", owner_name="Nguyễn Thị Lan",
                          title="Giấy khai sinh của Nguyễn Thị Lan", issued_on=date(2003, 5, 1),
                          valid_until=valid_until, page_count=1, original_sha256=sha,
                          original_size=original.stat().st_size)
    events = [Event(record_id=meta.record_id, action="ingested"), Event(record_id=meta.record_id, action="stored")]
    stored = records.store_record(archive.store, meta, original, pdfa, [name], [[]], events)
    written = pipeline.Written(stored.meta, stored.objects, stored.events, stored.version, stored.prefix)
    if catalogue:
        pipeline.catalog(Original(original, original.name, "jpeg", sha, original.stat().st_size), written, archive)
    return written


def deliver_until_idle(archive: Archive, settings: Settings, rounds: int = 40) -> list[outbox.Finished]:
    """What the embedded loop does, round after round, until nothing is pending."""
    done = []
    for _ in range(rounds):
        done += service.deliver_due(archive.catalog, settings)
        if not outbox.has_work(archive.catalog) and not outbox.due(archive.catalog):
            pending = outbox.next_due(archive.catalog)
            if pending is None:
                break
        time.sleep(0.06)
    return done


# ------------------------------------------------------------------ what is emitted


def test_a_record_of_a_dossier_emits_one_event_without_personal_data(archive, tmp_path):
    component = store(archive, tmp_path, "gks")
    result = store(archive, tmp_path, "kq", kind=Kind.result)
    store(archive, tmp_path, "cong-van", dossier=None)  # an agency document: the one-stop system has no dossier
    pipeline.catalog(Original(tmp_path / "gks.jpg", "gks.jpg", "jpeg", component.meta.original_sha256, 1),
                     component, archive)  # the twin of a retried ingest: the same event, not a second one

    rows = outbox.events(archive.catalog)
    assert sorted((e.type, e.record_id) for e in rows) == sorted([
        (emit.RECORD_STORED, component.meta.record_id), (emit.RESULT_DIGITISED, result.meta.record_id)])
    assert {e.state for e in rows} == {"waiting"} and {e.dossier_code for e in rows} == {DOSSIER}
    with archive.catalog.session() as session:
        body = session.get(WebhookEvent, emit.event_id(emit.RESULT_DIGITISED, result.meta.record_id)).body
    payload = json.loads(body)
    assert payload["type"] == "dossier.result_digitised" and payload["dossier"] == DOSSIER
    assert payload["record"]["code"] == f"{DOSSIER}-KQ1" and payload["record"]["kind"] == "result"
    assert payload["record"]["doc_type"] == "GKS" and payload["record"]["issued_on"] == "2003-05-01"
    assert payload["agency"] == AGENCY and payload["procedure"] == "1.001193"
    for personal in ("001203012345", "Nguyễn", "Lan", "2003-05-01T"):
        assert personal not in body, personal


def test_with_no_receiver_nothing_is_swept_and_events_wait_for_the_first_one(archive, tmp_path, settings,
                                                                           secret_file, receiver):
    """Workers send no sweep for an outbox nobody listens to; a receiver added later still gets them."""
    written = store(archive, tmp_path, "gks")
    assert not outbox.has_work(archive.catalog)
    assert outbox.fan_out(archive.catalog) == 0  # what the loop or beat would do: the event keeps waiting
    assert [e.state for e in outbox.events(archive.catalog)] == ["waiting"]

    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    assert outbox.has_work(archive.catalog)
    receiver.start()
    deliver_until_idle(archive, settings)
    assert list(receiver.events) == [emit.event_id(emit.RECORD_STORED, written.meta.record_id)]


def test_an_event_waits_for_its_record_and_a_crash_before_the_commit_announces_nothing(archive, tmp_path, settings,
                                                                                       secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    receiver.start()
    written = store(archive, tmp_path, "gks", catalogue=False)
    first = emit.emit_stored(archive.catalog, written.meta)  # the insert, then "crash" before add_record
    assert first.inserted
    assert outbox.fan_out(archive.catalog) == 0 and outbox.due(archive.catalog) == []
    assert deliver_until_idle(archive, settings, rounds=2) == [] and receiver.posts == []

    # Retried a week later, after the event was voided: the same id, woken up, delivered once.
    with archive.catalog.session() as session, session.begin():
        row = session.get(WebhookEvent, first.event_id)
        row.created_at = outbox.now_utc() - timedelta(days=8)
    outbox.fan_out(archive.catalog)
    assert [e.state for e in outbox.events(archive.catalog)] == ["void"]
    pipeline.catalog(Original(tmp_path / "gks.jpg", "gks.jpg", "jpeg", written.meta.original_sha256, 1),
                     written, archive)
    done = deliver_until_idle(archive, settings)
    assert [(f.event_id, f.state) for f in done] == [(first.event_id, "delivered")]
    assert list(receiver.events) == [first.event_id]


# ------------------------------------------------------------------ delivery through an outage


def test_down_slow_failing_then_well_delivers_once_signed_and_logs_every_attempt(archive, tmp_path, settings,
                                                                                 secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    written = store(archive, tmp_path, "gks")
    event = emit.event_id(emit.RECORD_STORED, written.meta.record_id)

    attempt = service.deliver_due(archive.catalog, settings)  # down: nothing listens on the port
    assert [f.state for f in attempt] == ["pending"] and "ConnectionRefused" in attempt[0].error
    assert attempt[0].retry_in == pytest.approx(0.05)
    assert service.deliver_due(archive.catalog, settings) == []  # not due yet: backoff
    receiver.delay, receiver.mode = 2.0, "slow"
    receiver.start()
    time.sleep(0.06)
    started = time.monotonic()
    slow = service.deliver_due(archive.catalog, settings)
    assert time.monotonic() - started < 1.5  # the attempt gave up at its timeout, not when the receiver answered
    assert slow[0].error == "timed out after 0.6 s" and slow[0].retry_in == pytest.approx(0.1)
    receiver.mode = "fail"
    time.sleep(1.6)  # the slow answer comes (and is dropped); then the next attempt is due
    failing = service.deliver_due(archive.catalog, settings)
    assert failing[0].status_code == 500 and failing[0].error.startswith("HTTP 500: loi tam thoi")
    assert len(failing[0].error) <= 220  # a few words of the answer, not its 130 kB
    receiver.mode = "ok"
    done = deliver_until_idle(archive, settings)
    assert [(f.state, f.status_code) for f in done] == [("delivered", 200)]
    assert deliver_until_idle(archive, settings, rounds=3) == []  # delivered: never sent again

    # The receiver acted once on the event, whatever it was sent; every post was signed.
    assert list(receiver.events) == [event] and all(p.signed for p in receiver.posts)
    assert {p.event_id for p in receiver.posts} == {event} and len(receiver.posts) >= 3
    assert [p.attempt for p in receiver.posts][-1] == 4
    post = receiver.posts[-1]
    assert post.headers["X-Sohoa-Event"] == "record.stored" and post.body["id"] == event
    assert post.headers["Content-Type"].startswith("application/json")

    log = outbox.log(archive.catalog, event)
    assert [line.status_code for line in reversed(log)] == [None, None, 500, 200]
    assert "ConnectionRefused" in log[-1].error and log[-2].error.startswith("timed out")
    assert all(line.state == "delivered" and line.url == receiver.url for line in log)
    assert 500 <= log[-2].duration_ms < 1500


def test_a_down_receiver_costs_one_attempt_a_round_and_a_crash_mid_attempt_is_retried(archive, tmp_path, settings,
                                                                                        secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    first, second = store(archive, tmp_path, "gks"), store(archive, tmp_path, "cccd")
    assert len(service.deliver_due(archive.catalog, settings)) == 1  # refused: the other waits for the next round
    assert len(outbox.log(archive.catalog)) == 1
    receiver.start()
    # A driver claims a delivery and dies before it posts: the lease runs out, another driver sends it.
    crashed = outbox.due(archive.catalog)[0]
    assert outbox.claim(archive.catalog, crashed, lease_seconds=0.3) is not None
    assert crashed not in outbox.due(archive.catalog)
    time.sleep(0.35)
    deliver_until_idle(archive, settings)
    assert sorted(receiver.events) == sorted(emit.event_id(emit.RECORD_STORED, w.meta.record_id)
                                             for w in (first, second))


def test_a_redirect_is_not_followed(archive, tmp_path, settings, secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    receiver.mode = "redirect"
    receiver.start()
    store(archive, tmp_path, "gks")
    finished = service.deliver_due(archive.catalog, settings)
    assert finished[0].status_code == 302 and finished[0].error == "redirect not followed (to 169.254.169.254)"
    assert finished[0].state == "pending" and len(receiver.posts) == 1


def test_attempts_run_out_then_redeliver_from_the_cli(archive, tmp_path, settings, secret_file, receiver,
                                                     monkeypatch):
    settings = settings.model_copy(update={"webhook_max_attempts": 2})
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    written = store(archive, tmp_path, "gks")
    event = emit.event_id(emit.RECORD_STORED, written.meta.record_id)
    done = deliver_until_idle(archive, settings)
    assert [f.state for f in done] == ["pending", "failed"] and done[-1].retry_in is None
    assert [line.state for line in outbox.log(archive.catalog, failed_only=True)] == ["failed", "failed"]
    assert outbox.events(archive.catalog)[0].deliveries == {"failed": 1}

    receiver.start()
    monkeypatch.setenv("SOHOA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SOHOA_WEBHOOK_TIMEOUT", "2")
    get_settings.cache_clear()
    again = CliRunner().invoke(cli, ["webhooks", "redeliver", "--failed"])
    assert again.exit_code == 0, again.output
    assert f"{event} → {receiver.url}: HTTP 200 (delivered)" in again.output
    assert list(receiver.events) == [event]
    shown = CliRunner().invoke(cli, ["webhooks", "log", event, "--json"])
    lines = json.loads(shown.output)
    assert [line["status"] for line in lines] == [200, None, None]
    assert {line["delivery"] for line in lines} == {"delivered"}
    # An explicit redelivery of a delivered event sends it again: the receiver drops the twin by id.
    twice = CliRunner().invoke(cli, ["webhooks", "redeliver", event])
    assert twice.exit_code == 0 and len(receiver.posts) == 2 and list(receiver.events) == [event]
    with pytest.raises(SohoaError) as unknown:
        outbox.requeue(archive.catalog, "khong-co")
    assert unknown.value.exit_code == ExitCode.NOT_FOUND
    nothing = run_sohoa("webhooks", "redeliver", env=dict(os.environ))
    assert nothing.returncode == ExitCode.USAGE and nothing.stderr.startswith("sohoa: error: ")
    get_settings.cache_clear()


def test_the_outbox_survives_a_catalog_rebuild(archive, tmp_path, settings, secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    written = store(archive, tmp_path, "gks")
    waiting = store(archive, tmp_path, "kq", kind=Kind.result, catalogue=False)
    emit.emit_stored(archive.catalog, waiting.meta)  # stored, not yet catalogued: the rebuild brings it in
    assert [f.state for f in service.deliver_due(archive.catalog, settings)] == ["pending"]  # receiver down

    assert rebuild(archive)[0] == 2

    receiver.start()
    deliver_until_idle(archive, settings)
    assert sorted(receiver.events) == sorted([emit.event_id(emit.RECORD_STORED, written.meta.record_id),
                                              emit.event_id(emit.RESULT_DIGITISED, waiting.meta.record_id)])


# ------------------------------------------------------------------ reuse


def test_a_reuse_emits_record_reused_once_and_a_refused_one_nothing(archive, tmp_path, settings, secret_file,
                                                                    receiver):
    written = store(archive, tmp_path, "gks")
    expired = store(archive, tmp_path, "cccd-cu", valid_until=date(2020, 1, 1))
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    receiver.start()

    outcome = reuse(archive, written.meta.record_id, LATER.lower(), by="can.bo")
    assert not outcome.already_linked
    assert reuse(archive, written.meta.record_code, LATER, by="can.bo").already_linked
    with pytest.raises(SohoaError) as refused:
        reuse(archive, expired.meta.record_id, LATER, by="can.bo")
    assert refused.value.exit_code == ExitCode.REFUSED
    with pytest.raises(SohoaError):
        reuse(archive, "R" + "0" * 24, LATER, by="can.bo")

    reused = [e for e in outbox.events(archive.catalog) if e.type == emit.RECORD_REUSED]
    assert [(e.record_id, e.dossier_code) for e in reused] == [(written.meta.record_id, LATER)]
    deliver_until_idle(archive, settings)
    body = receiver.events[reused[0].id]
    # Withdrawn the same day (announced once; a refused second withdrawal announces nothing), then
    # made again: a new fact, a second event.
    withdraw(archive, written.meta.record_id, LATER, by="can.bo")
    with pytest.raises(SohoaError):
        withdraw(archive, written.meta.record_id, LATER, by="can.bo")  # no link left to withdraw
    with pytest.raises(SohoaError):
        withdraw(archive, expired.meta.record_id, LATER, by="can.bo")
    deliver_until_idle(archive, settings)
    withdrawn = [e for e in outbox.events(archive.catalog) if e.type == emit.RECORD_REUSE_WITHDRAWN]
    assert [(e.record_id, e.dossier_code) for e in withdrawn] == [(written.meta.record_id, LATER)]
    gone = receiver.events[withdrawn[0].id]
    assert gone["type"] == "record.reuse_withdrawn" and gone["dossier"] == LATER and gone["withdrawal"] == 1
    assert not reuse(archive, written.meta.record_id, LATER, by="can.bo").already_linked
    deliver_until_idle(archive, settings)
    again = [e.id for e in outbox.events(archive.catalog) if e.type == emit.RECORD_REUSED]
    assert len(set(again)) == 2 and set(receiver.events) >= set(again)
    withdraw(archive, written.meta.record_id, LATER, by="can.bo")  # the second withdrawal: its own event
    deliver_until_idle(archive, settings)
    twice = [e.id for e in outbox.events(archive.catalog) if e.type == emit.RECORD_REUSE_WITHDRAWN]
    assert len(set(twice)) == 2 and receiver.events[(set(twice) - {withdrawn[0].id}).pop()]["withdrawal"] == 2
    assert body["type"] == "record.reused" and body["dossier"] == LATER
    assert body["record"]["dossier"] == DOSSIER and body["record"]["code"] == written.meta.record_code
    assert "001203012345" not in json.dumps(body, ensure_ascii=False)


# ------------------------------------------------------------------ the embedded loop


def test_the_embedded_loop_delivers_from_the_supervisors_tend(archive, tmp_path, settings, secret_file, receiver):
    outbox.add_endpoint(archive.catalog, receiver.url, secret_file)
    supervisor = Supervisor(archive, lambda item_id, queue: None, settings,
                            webhooks=WebhookLoop(archive.catalog, settings))
    written = store(archive, tmp_path, "gks")
    deadline = time.monotonic() + 10
    while len(outbox.log(archive.catalog)) < 2 and time.monotonic() < deadline:
        supervisor.tend()  # the hot folder's loop body; a round runs in its own thread
        time.sleep(0.05)
    assert len(outbox.log(archive.catalog)) >= 2 and receiver.events == {}  # down: attempts, no delivery
    receiver.start()
    while not receiver.events and time.monotonic() < deadline:
        supervisor.tend()
        time.sleep(0.05)
    assert list(receiver.events) == [emit.event_id(emit.RECORD_STORED, written.meta.record_id)]


# ------------------------------------------------------------------ receivers: URLs, secrets, signature


@pytest.mark.parametrize("url", ["ftp://hop-thu.gov.vn/x", "file:///etc/passwd", "gopher://127.0.0.1:6379/_",
                                 "http:///no-host", "https://user:pass@mot-cua.gov.vn/hook",
                                 "http://mot-cua.gov.vn:99999/", "https://mot-cua.gov.vn/hook#x", "mot-cua.gov.vn"])
def test_only_plain_http_and_https_urls_are_accepted(url):
    with pytest.raises(SohoaError) as refused:
        delivery.check_url(url)
    assert refused.value.exit_code == ExitCode.USAGE
    assert delivery.post(url, b"{}", {}, 1).error == refused.value.message  # and never attempted


def test_secret_files_must_be_long_and_private(tmp_path, archive, receiver):
    short = tmp_path / "short"
    short.write_bytes(b"abc\n")
    short.chmod(0o600)
    shared = tmp_path / "shared"
    shared.write_bytes(SECRET)
    shared.chmod(0o644)
    for path, code in ((short, ExitCode.USAGE), (shared, ExitCode.REFUSED), (tmp_path / "none", ExitCode.INPUT_MISSING)):
        with pytest.raises(SohoaError) as refused:
            outbox.add_endpoint(archive.catalog, receiver.url, path)
        assert refused.value.exit_code == code, path
    assert outbox.endpoints(archive.catalog) == []
    cli = run_sohoa("webhooks", "add", "file:///etc/passwd", "--secret-file", shared,
                    env=dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "cli")))
    assert cli.returncode == ExitCode.USAGE and cli.stderr.count("\n") == 1


def test_the_signature_covers_the_timestamp_and_the_body():
    body = b'{"id":"e1","type":"record.stored"}'
    sent = delivery.headers("e1", "record.stored", body, SECRET, 1)
    assert verify(SECRET, sent, body)
    assert not verify(SECRET, sent, body.replace(b"e1", b"e2"))  # another body
    assert not verify(b"another-secret-of-16-bytes", sent, body)
    replayed = dict(sent, **{"X-Sohoa-Timestamp": str(int(sent["X-Sohoa-Timestamp"]) + 600)})
    assert not verify(SECRET, replayed, body)  # a fresh timestamp on a captured request
    stale = delivery.headers("e1", "record.stored", body, SECRET, 1, now=time.time() - 3600)
    assert not verify(SECRET, stale, body)  # signed, but an hour old: a replay


def test_every_reuse_in_the_product_goes_through_hooks():
    """A caller of `sohoa.archive.reuse.reuse` (or `withdraw_reuse`) itself would link (or unlink)
    reuses that no webhook announces."""
    import ast

    root = Path(__file__).resolve().parents[1]
    direct = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in ("tests", "testkit", "bench", ".venv", "build", "hooks") or len(parts) < 2:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "sohoa.archive.reuse":
                direct += [f"{path.relative_to(root)}" for alias in node.names
                           if alias.name in ("reuse", "withdraw_reuse")]
            if isinstance(node, ast.ImportFrom) and node.module == "sohoa.archive":
                direct += [f"{path.relative_to(root)}" for alias in node.names if alias.name == "reuse"]
    assert direct == []
