"""Webhooks through real `sohoa worker` processes and Redis: a scan of a dossier taken by the hot
folder is stored by a worker, whose event is retried on the `webhooks` queue with backoff while the
receiver is down, and delivered once, signed, when it comes up."""

from __future__ import annotations

import time

from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings
from sohoa.hooks import emit, outbox

from webhook_receiver import Receiver
from workers_fixtures import AGENCY, DOSSIER, cluster_factory, redis_url, wait_for, write_scans  # noqa: F401

SECRET = b"bi-mat-dung-chung-voi-mot-cua-0001"


def test_a_worker_delivers_the_event_of_a_stored_record_once_the_receiver_is_up(cluster_factory, redis_url,
                                                                                 tmp_path):
    cluster = cluster_factory(redis_url, ocr_engine="null", webhook_backoff="0.3", webhook_backoff_max="0.6",
                              webhook_timeout="2")
    receiver = Receiver(SECRET)
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    catalog = open_archive(Settings.from_env(cluster.env)).catalog
    try:
        outbox.add_endpoint(catalog, receiver.url, secret)
        write_scans(cluster.data_dir / "inbox" / AGENCY / DOSSIER, 1, seed=880)
        cluster.start_worker("a", concurrency=1)
        taken = cluster.sohoa("watch", "--once", "--poll", "0.3", timeout=300)
        assert taken.returncode == 0, taken.stderr
        record = catalog.records_of_dossier(DOSSIER)[0]
        event = emit.event_id(emit.RECORD_STORED, record.id)

        # Down: the worker's attempts come one after the other, each later than the one before.
        wait_for(lambda: len(outbox.log(catalog, event)) >= 3, 60, "three failed attempts", 0.2, cluster)
        failed = sorted(outbox.log(catalog, event), key=lambda line: line.at)[:3]
        assert all(line.status_code is None and "Connection" in line.error for line in failed)
        gaps = [(b.at - a.at).total_seconds() for a, b in zip(failed, failed[1:])]
        assert gaps[0] >= 0.25 and gaps[1] >= 0.5, gaps  # 0.3 s, then 0.6 s: the backoff doubles

        receiver.start()
        wait_for(lambda: bool(receiver.events), 60, "the delivery", 0.2, cluster)
        wait_for(lambda: outbox.events(catalog, event_id=event)[0].deliveries == {"delivered": 1}, 30,
                 "the delivery marked delivered", 0.2, cluster)
        time.sleep(1.5)  # would a stray retry post again?
        assert list(receiver.events) == [event] and len(receiver.posts) == 1 and receiver.posts[0].signed
        body = receiver.events[event]
        assert body["type"] == "record.stored" and body["dossier"] == DOSSIER
        assert body["record"]["code"] == record.code
        log = sorted(outbox.log(catalog, event), key=lambda line: line.at)
        assert log[-1].status_code == 200 and all(line.status_code is None for line in log[:-1])
    finally:
        receiver.stop()
        catalog.dispose()
