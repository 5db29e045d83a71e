"""`sohoa export --format mets` (issue #19 item 6): METS 1.12 + PREMIS 3 packages of a record and of a
dossier, validated against the METS, PREMIS and XLink schemas shipped in tests/data/schemas (the
Library of Congress schemas; no network at test time), through the real command on a real store."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest
from lxml import etree

from sohoa.core.errors import ExitCode
from sohoa.testkit import scans

from conftest import run_sohoa

SCHEMAS = Path(__file__).parent / "data" / "schemas"
XLINK_URL = "http://www.loc.gov/standards/xlink/xlink.xsd"
NS = {"mets": "http://www.loc.gov/METS/", "premis": "http://www.loc.gov/premis/v3",
      "xlink": "http://www.w3.org/1999/xlink", "sohoa": "urn:sohoa:record:1"}
AGENCY_A = "000.00.12.H36"
AGENCY_B = "000.00.13.H36"
DOSSIER = "000.00.12.H36-250301-0007"
OWNER = "001204012345"


class LocalSchemas(etree.Resolver):
    """Every schema the XSDs import comes from tests/data/schemas, never from the network."""

    def resolve(self, url, id_, context):
        name = url.rsplit("/", 1)[-1]
        if (SCHEMAS / name).is_file():
            return self.resolve_filename(str(SCHEMAS / name), context)
        raise AssertionError(f"schema {url} is not shipped in tests/data/schemas")


def _schema(text: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas())
    return etree.XMLSchema(etree.fromstring(text.encode(), parser, base_url=str(SCHEMAS / "wrapper.xsd")))


@pytest.fixture(scope="module")
def mets_schema() -> etree.XMLSchema:
    """METS with PREMIS declared too, so the lax xmlData of every mdWrap is validated as PREMIS."""
    return _schema(f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="{NS['mets']}" schemaLocation="mets.xsd"/>
      <xs:import namespace="{NS['premis']}" schemaLocation="premis.xsd"/>
    </xs:schema>""")


@pytest.fixture(scope="module")
def premis_schema() -> etree.XMLSchema:
    return _schema(f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="{NS['premis']}" schemaLocation="premis.xsd"/>
    </xs:schema>""")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("data-mets")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    environ.update(SOHOA_DATA_DIR=str(data), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null")
    return environ


def sohoa(env, *args, stdin: str | None = None):
    import subprocess

    from conftest import SOHOA

    if stdin is None:
        return run_sohoa(*args, env=env)
    return subprocess.run(SOHOA + [str(a) for a in args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=300)


def ingest(env, path, agency, *extra):
    proc = sohoa(env, "ingest", path, "--agency", agency, "--owner-id", OWNER, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stored(env, tmp_path_factory):
    """Two records of a dossier of agency A (a component and a result) and one record of agency B."""
    folder = tmp_path_factory.mktemp("scans-mets")
    paths = [Path(scans.save_image(scans.make_scan("gray200_jpeg", seed=190 + i), folder / f"to-{i}.jpg", "jpeg"))
             for i in range(3)]
    first = ingest(env, paths[0], AGENCY_A, "--dossier", DOSSIER, "--title", "Giấy chứng nhận quyền sử dụng đất",
                   "--doc-type", "GCN")
    second = ingest(env, paths[1], AGENCY_A, "--dossier", DOSSIER, "--kind", "result",
                    "--title", "Quyết định cấp giấy phép xây dựng")
    other = ingest(env, paths[2], AGENCY_B, "--title", "Đơn đề nghị của huyện khác")
    return first, second, other


def show(env, record_id):
    proc = sohoa(env, "show", record_id, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def export(env, out, *args):
    proc = sohoa(env, "export", *args, "--out", out, "--format", "mets")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return etree.parse(str(out / "METS.xml"))


def test_record_package_is_valid_and_lists_every_file_with_its_sha256(env, stored, mets_schema, premis_schema,
                                                                       tmp_path):
    record = show(env, stored[0]["record_id"])
    tree = export(env, tmp_path / "goi", stored[0]["record_id"])
    mets_schema.assertValid(tree)
    for element in tree.iterfind(".//premis:*", NS):
        if element.getparent().tag == f"{{{NS['mets']}}}xmlData":
            premis_schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(element))))
    files = {f.find("mets:FLocat", NS).get(f"{{{NS['xlink']}}}href"): f for f in tree.iterfind(".//mets:file", NS)}
    expected = {f"{stored[0]['code']}/{name}": info for name, info in record["objects"].items()}
    assert set(files) == set(expected) and len(files) >= 6
    for href, info in expected.items():
        element = files[href]
        assert element.get("CHECKSUM") == info["sha256"] and element.get("CHECKSUMTYPE") == "SHA-256"
        copy = tmp_path / "goi" / href  # the copy beside METS.xml has the archive's bytes
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == info["sha256"]
        tech = tree.find(f".//mets:techMD[@ID='{element.get('ADMID')}']", NS)
        assert tech.findtext(".//premis:messageDigest", namespaces=NS) == info["sha256"]
        assert tech.findtext(".//premis:objectIdentifierValue", namespaces=NS) == href
    dmd = tree.find(".//sohoa:record", NS)
    assert dmd.findtext("sohoa:title", namespaces=NS) == "Giấy chứng nhận quyền sử dụng đất"
    assert dmd.findtext("sohoa:sheet/sohoa:DocCode", namespaces=NS) == stored[0]["code"]
    assert tree.getroot().get("OBJID") == stored[0]["code"]


def test_premis_events_match_the_records_events(env, stored, tmp_path):
    record = show(env, stored[1]["record_id"])
    tree = export(env, tmp_path / "goi", stored[1]["code"])
    events = tree.findall(".//premis:event", NS)
    assert [e.findtext("premis:eventType", namespaces=NS) for e in events] == [e["action"] for e in record["events"]]
    assert {"ingested", "stored"} <= {e["action"] for e in record["events"]}
    agents = {a.findtext("premis:agentIdentifier/premis:agentIdentifierValue", namespaces=NS)
              for a in tree.iterfind(".//premis:agent", NS)}
    for element, event in zip(events, record["events"]):
        assert element.findtext(".//premis:eventOutcome", namespaces=NS) == event["outcome"]
        when = datetime.fromisoformat(element.findtext("premis:eventDateTime", namespaces=NS))
        at = datetime.fromisoformat(event["at"])
        assert when.utcoffset() is not None
        assert when == (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).replace(microsecond=0)
        links = [link.findtext("premis:linkingAgentIdentifierValue", namespaces=NS)
                 for link in element.iterfind("premis:linkingAgentIdentifier", NS)]
        assert links == [event["agent"], f"{event['tool']} {event['tool_version']}".strip()]
        assert set(links) <= agents  # every agent an event names is described


def test_dossier_package_has_one_div_per_record_and_bagit_carries_the_mets(env, stored, mets_schema, tmp_path):
    tree = export(env, tmp_path / "ho-so", "--dossier", DOSSIER)
    mets_schema.assertValid(tree)
    top = tree.find("mets:structMap/mets:div", NS)
    assert top.get("TYPE") == "dossier" and top.get("LABEL") == DOSSIER
    divs = top.findall("mets:div", NS)
    assert [d.get("LABEL") for d in divs] == ["Giấy chứng nhận quyền sử dụng đất", "Quyết định cấp giấy phép xây dựng"]
    for div in divs:  # each div points at its own record's files, all present in fileSec
        ids = {f.get("FILEID") for f in div.findall("mets:fptr", NS)}
        assert ids and all(tree.find(f".//mets:file[@ID='{i}']", NS) is not None for i in ids)
    assert stored[2]["code"] not in etree.tostring(tree, encoding="unicode")
    with (tmp_path / "ho-so" / "sheet.csv").open(encoding="utf-8", newline="") as sheet:
        rows = list(csv.DictReader(sheet))
    assert [r["DocCode"] for r in rows] == [stored[0]["code"], stored[1]["code"]]
    assert rows[0]["TypeName"] == "Giấy chứng nhận quyền sử dụng đất"
    assert all((tmp_path / "ho-so" / r["File"]).is_file() and r["File"].endswith(".pdf") for r in rows)
    bag_dir = tmp_path / "bag"
    proc = sohoa(env, "export", "--dossier", DOSSIER, "--out", bag_dir)
    assert proc.returncode == 0, proc.stderr
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert "data/METS.xml" in bag.entries
    in_bag = etree.parse(str(bag_dir / "data" / "METS.xml"))
    mets_schema.assertValid(in_bag)
    for f in in_bag.iterfind(".//mets:file", NS):  # METS hrefs resolve inside the bag, to the same bytes
        href = f.find("mets:FLocat", NS).get(f"{{{NS['xlink']}}}href")
        assert bag.entries[f"data/{href}"]["sha256"] == f.get("CHECKSUM")


def test_the_schemas_do_reject_a_broken_package(env, stored, mets_schema, tmp_path):
    tree = export(env, tmp_path / "goi", stored[0]["record_id"])
    digest = tree.find(".//premis:fixity", NS)
    digest.remove(digest.find("premis:messageDigestAlgorithm", NS))
    assert not mets_schema.validate(tree)


def test_unknown_record_and_out_of_scope_user(env, stored, tmp_path):
    missing = sohoa(env, "export", "R-khong-co", "--out", tmp_path / "m", "--format", "mets")
    assert missing.returncode == ExitCode.NOT_FOUND == 17
    assert missing.stderr.startswith("sohoa: error:") and "Traceback" not in missing.stderr
    added = sohoa(env, "users", "add", "canbo.a", "--role", "official", "--agency", AGENCY_A, "--password-stdin",
                  stdin="mat-khau-rat-dai\n")
    assert added.returncode == 0, added.stderr
    for fmt in ("bagit", "mets"):  # a record of agency B is missing for a user of agency A, in both formats
        hidden = sohoa(env, "export", stored[2]["record_id"], "--as", "canbo.a", "--format", fmt,
                       "--out", tmp_path / f"b-{fmt}")
        assert hidden.returncode == 17 and not (tmp_path / f"b-{fmt}").exists()
    mine = sohoa(env, "export", "--dossier", DOSSIER, "--as", "canbo.a", "--format", "mets", "--out", tmp_path / "a")
    assert mine.returncode == 0, mine.stderr
    assert len(etree.parse(str(tmp_path / "a" / "METS.xml")).findall(".//mets:structMap//mets:div", NS)) == 3
    bad = sohoa(env, "export", stored[0]["record_id"], "--format", "zip", "--out", tmp_path / "z")
    assert bad.returncode == ExitCode.USAGE and "Traceback" not in bad.stderr


def test_metadata_sheet_splits_number_and_notation():
    from sohoa.archive.mets import sheet_of

    sheet = sheet_of({"record_code": "000.00.12.H36-250301-0007-KQ1", "doc_type_name": "Giấy phép xây dựng",
                      "number_symbol": "125/GPXD-UBND", "issued_on": "2025-03-04",
                      "issuing_agency": "UBND huyện Mỹ Lộc", "summary": "Cấp phép xây dựng nhà ở riêng lẻ"})
    assert sheet == {"DocCode": "000.00.12.H36-250301-0007-KQ1", "TypeName": "Giấy phép xây dựng",
                     "CodeNumber": "125", "CodeNotation": "GPXD-UBND", "IssuedDate": "2025-03-04",
                     "OrganName": "UBND huyện Mỹ Lộc", "Subject": "Cấp phép xây dựng nhà ở riêng lẻ"}


def test_naming_2025_names_the_pdf_code_date_summary_and_the_package_follows(env, stored, mets_schema, tmp_path):
    tree = export(env, tmp_path / "ho-so", "--dossier", DOSSIER, "--naming", "2025")
    mets_schema.assertValid(tree)
    record = show(env, stored[0]["record_id"])
    day = record["metadata"]["created_at"][:10].replace("-", "")  # no issue date typed: the day it was digitised
    name = f"{stored[0]['code']}_{day}_Giay-chung-nhan-quyen-su-dung-dat.pdf"
    folder = tmp_path / "ho-so" / stored[0]["code"]
    assert (folder / name).is_file() and not (folder / "pdfa.pdf").exists() and (folder / "original").is_file()
    hrefs = {f.find("mets:FLocat", NS).get(f"{{{NS['xlink']}}}href"): f for f in tree.iterfind(".//mets:file", NS)}
    pdf = hrefs[f"{stored[0]['code']}/{name}"]
    assert pdf.get("CHECKSUM") == record["objects"]["pdfa.pdf"]["sha256"] == hashlib.sha256(
        (folder / name).read_bytes()).hexdigest()
    assert tree.find(f".//mets:techMD[@ID='{pdf.get('ADMID')}']//premis:originalName", NS).text == "pdfa.pdf"
    for href in hrefs:
        assert (tmp_path / "ho-so" / href).is_file(), href
    with (tmp_path / "ho-so" / "sheet.csv").open(encoding="utf-8", newline="") as sheet:
        files = [row["File"] for row in csv.DictReader(sheet)]
    assert files[0] == f"{stored[0]['code']}/{name}"
    assert files[1].startswith(f"{stored[1]['code']}/{stored[1]['code']}_")
    assert files[1].endswith("_Quyet-dinh-cap-giay-phep-xay-dung.pdf")  # signed or not (the last test signs it)
    bag_dir = tmp_path / "bag"
    proc = sohoa(env, "export", "--dossier", DOSSIER, "--out", bag_dir, "--naming", "2025")
    assert proc.returncode == 0, proc.stderr
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.entries[f"data/{stored[0]['code']}/{name}"]["sha256"] == pdf.get("CHECKSUM")
    bad = sohoa(env, "export", "--dossier", DOSSIER, "--out", tmp_path / "x", "--naming", "2024")
    assert bad.returncode == ExitCode.USAGE and not (tmp_path / "x").exists()


def test_the_2025_name_is_ascii_and_short():
    from sohoa.archive.export import name_2025

    assert name_2025({"record_code": "000.00.12.H36-250301-0007-KQ1", "issued_on": "2025-03-04",
                      "summary": "Cấp phép xây dựng nhà ở riêng lẻ tại đường Đống Đa, phường Ỷ La"}) == (
        "000.00.12.H36-250301-0007-KQ1_20250304_Cap-phep-xay-dung-nha-o-rieng-le-tai.pdf")
    assert name_2025({"record_code": "000.00.12.H36-TP-0A1B2C3D4E", "created_at": "2025-01-02T03:04:05Z",
                      "doc_type_name": "Giấy khai sinh"}) == "000.00.12.H36-TP-0A1B2C3D4E_20250102_Giay-khai-sinh.pdf"


def test_a_signed_record_package_has_the_signature_event_and_the_signed_pdf(env, stored, test_pki, mets_schema,
                                                                            premis_schema, tmp_path):
    from sign_fixtures import P12_PASSWORD

    record = stored[1]  # the dossier's result
    signing = dict(env, SOHOA_SIGN_P12=str(test_pki.p12["unit"]), SOHOA_SIGN_P12_PASSWORD=P12_PASSWORD)
    signed = sohoa(signing, "sign", record["record_id"])
    assert signed.returncode == 0, signed.stderr
    shown = show(env, record["record_id"])
    tree = export(env, tmp_path / "ky", record["record_id"], "--naming", "2025")
    mets_schema.assertValid(tree)
    events = tree.findall(".//premis:event", NS)
    for event in events:
        premis_schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(event))))
    [signature] = [e for e in events if e.findtext("premis:eventType", namespaces=NS) == "signed"]
    stored_event = next(e for e in shown["events"] if e["action"] == "signed")
    assert signature.findtext(".//premis:eventDetail", namespaces=NS) == stored_event["detail"]
    assert signature.findtext(".//premis:eventOutcome", namespaces=NS) == "success"
    day = shown["metadata"]["created_at"][:10].replace("-", "")
    name = f"{record['code']}_{day}_Quyet-dinh-cap-giay-phep-xay-dung.pdf"
    files = {f.find("mets:FLocat", NS).get(f"{{{NS['xlink']}}}href"): f for f in tree.iterfind(".//mets:file", NS)}
    signed_file = files[f"{record['code']}/{name}"]  # the signed PDF, under its 2025 name
    assert signed_file.get("USE") == "signed"
    assert signed_file.get("CHECKSUM") == shown["objects"]["signed.pdf"]["sha256"] == hashlib.sha256(
        (tmp_path / "ky" / record["code"] / name).read_bytes()).hexdigest()
    assert files[f"{record['code']}/pdfa.pdf"].get("CHECKSUM") == shown["objects"]["pdfa.pdf"]["sha256"]
    with (tmp_path / "ky" / "sheet.csv").open(encoding="utf-8", newline="") as sheet:
        assert [row["File"] for row in csv.DictReader(sheet)] == [f"{record['code']}/{name}"]
