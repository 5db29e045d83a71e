"""Downloads are verified before their last byte leaves (issue #12, item 5), on a real uvicorn server.

A small object is verified whole first: altered bytes answer a 500 with a Vietnamese message. A large
one is streamed with its last chunk held back: altered bytes end the connection short of the declared
Content-Length, so the client sees a failed download. Either way an audit row and a `fixity-checked`
failure event are written. Content-Disposition stays one legal header whatever the file's name holds.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from PIL import Image
from sohoa.archive.storage import CHUNK_SIZE
from sohoa.core.errors import ExitCode
from sohoa.web import accounts, audit
from sohoa.web.routes.records import _disposition
from web_fixtures import AGENCY_A, DOSSIER, OWNER, add_users, ingest_scan, make_app

from conftest import run_sohoa


def _alter(store, key: str) -> None:
    """Flip one byte of the stored object in place, as a disk fault or an intruder would."""
    path = store.root / key
    os.chmod(path, 0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _ingest(app, source: Path):
    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions

    web = app.state.sohoa
    fields = IngestFields(agency=AGENCY_A, dossier=DOSSIER, owner_id=OWNER, doc_type="GKS", title="Ảnh nhiễu",
                          valid_until=None, retention="01").validated()
    result = ingest_file(source, fields, web.archive, OcrOptions.from_settings(web.settings, jobs=1),
                         agent="test", index=web.index)
    assert result.status == "stored", result
    return result.record_id


@pytest.fixture(autouse=True, scope="module")
def _null_ocr_for_this_module():
    """The words are never read here: the null engine, set for this module only and then put back
    (other modules' `sohoa` processes inherit the environment)."""
    from sohoa.core.settings import get_settings

    before = os.environ.get("SOHOA_OCR_ENGINE")
    os.environ["SOHOA_OCR_ENGINE"] = "null"
    get_settings.cache_clear()
    yield
    if before is None:
        os.environ.pop("SOHOA_OCR_ENGINE", None)
    else:
        os.environ["SOHOA_OCR_ENGINE"] = before
    get_settings.cache_clear()


class Served:
    def __init__(self, tmp: Path, storage_url: str | None = None) -> None:
        self.data = tmp / "data"
        if storage_url:
            from sohoa.core.settings import Settings
            from sohoa.web.app import create_app
            from sohoa.web.config import WebConfig

            self.app = create_app(Settings(data_dir=self.data, storage_url=storage_url, jobs=1,
                                           stable_seconds=0.5), WebConfig(tend_seconds=0.5))
        else:
            self.app = make_app(self.data)
        self.web = self.app.state.sohoa
        add_users(self.web.catalog)
        self.token = accounts.create_token(self.web.catalog, "canbo")
        noise = tmp / "nhieu.png"  # incompressible: the original is several chunks long
        Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(noise)
        self.large_id = _ingest(self.app, noise)
        if not storage_url:
            self.small_id, _, _ = ingest_scan(self.app, tmp, seed=5)
            odd = tmp / "giấy\nkhai\x1bsinh \"x\";.png"  # a name a scanner's share can really produce
            Image.frombytes("L", (800, 600), bytes(range(256)) * 1875).save(odd)
            self.odd_id = _ingest(self.app, odd)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def get(self, path: str) -> tuple[http.client.HTTPResponse, bytes, Exception | None]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        response = connection.getresponse()
        try:
            return response, response.read(), None
        except http.client.IncompleteRead as cut:
            return response, cut.partial, cut

    def obj(self, record_id: str, name: str):
        return next(o for o in self.web.catalog.record(record_id).objects if o.name == name)

    def failures(self, record_id: str) -> list:
        return [e for e in self.web.catalog.events_of(record_id)
                if e.action == "fixity-checked" and e.outcome == "failure"]

    def refused(self, record_id: str) -> list:
        return audit.entries(self.web.catalog, record_id=record_id, action=audit.INTEGRITY)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    env = Served(tmp_path_factory.mktemp("served"))
    yield env
    env.server.should_exit = True
    env.thread.join(timeout=30)


def test_intact_objects_download_whole_with_their_declared_length(served):
    large = served.obj(served.large_id, "original")
    assert large.size > 2 * CHUNK_SIZE
    response, body, cut = served.get(f"/api/records/{served.large_id}/original")
    assert cut is None and response.status == 200
    assert int(response.getheader("content-length")) == large.size == len(body)
    small = served.obj(served.small_id, "pdfa.pdf")
    assert small.size <= CHUNK_SIZE
    response, body, cut = served.get(f"/api/records/{served.small_id}/pdfa")
    assert cut is None and response.status == 200 and len(body) == small.size
    assert body.startswith(b"%PDF")


def test_a_large_altered_object_is_cut_short_and_recorded(served):
    obj = served.obj(served.large_id, "original")
    _alter(served.web.archive.store, obj.key)
    response, body, cut = served.get(f"/api/records/{served.large_id}/original")
    assert response.status == 200  # the headers left before the hash could be known...
    assert isinstance(cut, http.client.IncompleteRead)  # ...but the download fails
    assert len(body) < obj.size and obj.size - len(body) >= 1  # the last chunk never left
    [event] = served.failures(served.large_id)
    assert event.agent == "sohoa web (canbo)" and obj.key in event.detail
    [row] = served.refused(served.large_id)
    assert row.username == "canbo" and "SHA-256" in row.detail
    # the page download (the browser's link) is refused the same way
    response, body, cut = served.get(f"/ban-ghi/{served.large_id}/goc")
    assert cut is not None and len(body) < obj.size
    assert len(served.failures(served.large_id)) == 2


def test_a_small_altered_object_is_a_clear_500_before_any_byte(served):
    obj = served.obj(served.small_id, "pdfa.pdf")
    _alter(served.web.archive.store, obj.key)
    response, body, cut = served.get(f"/api/records/{served.small_id}/pdfa")
    assert cut is None and response.status == 500
    import json

    error = json.loads(body)
    assert error["error"] == "fixity_failed" and "SHA-256" in error["message"] and "không khớp" in error["message"]
    assert b"%PDF" not in body
    assert len(served.failures(served.small_id)) == 1 and len(served.refused(served.small_id)) == 1
    # a thumbnail is rendered only from verified bytes
    response, body, _ = served.get(f"/ban-ghi/{served.small_id}/trang/1.png")
    assert response.status == 500 and b"PNG" not in body[:8]
    assert len(served.failures(served.small_id)) == 2 and len(served.refused(served.small_id)) == 2


def test_sohoa_get_of_an_altered_object_fails_and_records_it(served, tmp_path):
    obj = served.obj(served.large_id, "original")  # altered by the test above when run in order
    path = served.web.archive.store.root / obj.key
    if os.stat(path).st_mode & 0o200 == 0:
        _alter(served.web.archive.store, obj.key)
    before = len(served.failures(served.large_id))
    out = tmp_path / "ban-sao.png"
    env = {**os.environ, "SOHOA_DATA_DIR": str(served.data)}
    done = run_sohoa("get", served.large_id, "--original", "--out", out, env=env)
    assert done.returncode == ExitCode.FIXITY_FAILED, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "SHA-256" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert len(served.failures(served.large_id)) == before + 1


def test_a_name_with_newline_escape_and_quotes_is_served_with_a_legal_header(served):
    response, body, cut = served.get(f"/api/records/{served.odd_id}/original")
    assert cut is None and response.status == 200 and body.startswith(b"\x89PNG")
    header = response.getheader("content-disposition")
    assert header.startswith("attachment; filename=\"")
    assert "filename*=UTF-8''gi%E1%BA%A5y" in header
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in header)
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and ";" not in fallback and fallback.startswith("giaykhaisinh")


@pytest.mark.parametrize("name", ["a\nb.pdf", "\x1b[31mred.pdf", 'q"u\\o;te.pdf', "đơn xin.pdf",
                                  os.fsdecode(b"b\xe1o-c\xe1o.pdf"), "x" * 600 + ".pdf", "\u202etxt.exe", ""])
def test_content_disposition_is_one_legal_line_for_any_name(name):
    header = _disposition("attachment", name)
    header.encode("latin-1")  # a header value must be latin-1 (here: plain ASCII)
    assert header.isascii() and header.isprintable()
    fallback = header.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert fallback and '"' not in fallback and "\\" not in fallback and len(fallback) <= 150
    assert header.split("filename*=UTF-8''", 1)[1]


@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.servers)])
def test_no_backend_ever_hands_out_the_whole_of_altered_bytes(backend, tmp_path, request):
    """Altered behind the store's back: the local store's file is rewritten; on SeaweedFS a raw PUT
    adds a newer version over the locked one. Whatever the store then reads, a client either gets
    bytes matching the recorded SHA-256 or a failed download."""
    import hashlib
    import io

    storage_url = None
    if backend == "s3":
        from storage_fixtures import new_bucket

        endpoint = request.getfixturevalue("seaweedfs_endpoint")
        storage_url = endpoint.url(new_bucket())
    env = Served(tmp_path, storage_url)
    try:
        obj = env.obj(env.large_id, "original")
        stored = b"".join(env.web.archive.store.open(obj.key))
        forged = bytearray(stored)
        forged[len(forged) // 2] ^= 0x01
        if backend == "local":
            _alter(env.web.archive.store, obj.key)
        else:
            endpoint.client().put_object(env.web.archive.store.bucket, obj.key, io.BytesIO(bytes(forged)),
                                         len(forged))
        response, body, cut = env.get(f"/api/records/{env.large_id}/original")
        if cut is None:  # the store read the version it wrote (S3 object lock): the right bytes
            assert backend == "s3" and hashlib.sha256(body).hexdigest() == obj.sha256 == response.getheader(
                "x-sohoa-sha256")
            assert env.failures(env.large_id) == []
        else:
            assert len(body) < obj.size and hashlib.sha256(body).hexdigest() != obj.sha256
            assert len(env.failures(env.large_id)) == 1 and len(env.refused(env.large_id)) == 1
    finally:
        env.server.should_exit = True
        env.thread.join(timeout=30)
