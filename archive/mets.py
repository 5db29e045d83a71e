"""METS 1.12 documents with PREMIS 3 preservation metadata for `sohoa export --format mets` (issue #19).

One document describes one record or a whole dossier (one structMap div per record), as the
archive packages of TT 05/2025/TT-BNV are made per document and per dossier:

- dmdSec: the record's TT 01/2023 fields, plus the 2025 metadata sheet names (DocCode, TypeName,
  CodeNumber, CodeNotation, IssuedDate, OrganName, Subject), in a small `sohoa` namespace block;
- amdSec: a PREMIS object per file (SHA-256 fixity, size, format), a PREMIS event per catalog event
  (ingested, ocr, validated, extracted, signed, stored, fixity-checked, reused, described) and a
  PREMIS agent per person and per tool (with its version) those events name;
- fileSec: every stored object of the record, with its SHA-256, located relative to METS.xml;
- structMap: the dossier (or the record) and its records.

Built with the standard library's ElementTree: the document is written, never parsed here, so no
extra dependency is needed in the product (the tests validate it with lxml against the XSDs).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Final

import sohoa
from sohoa.archive.catalog import Catalog, Record

METS_NS: Final = "http://www.loc.gov/METS/"
PREMIS_NS: Final = "http://www.loc.gov/premis/v3"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
SOHOA_NS: Final = "urn:sohoa:record:1"
for _prefix, _uri in (("mets", METS_NS), ("premis", PREMIS_NS), ("xlink", XLINK_NS), ("xsi", XSI_NS),
                      ("sohoa", SOHOA_NS)):
    ET.register_namespace(_prefix, _uri)

SCHEMA_LOCATIONS: Final = (f"{METS_NS} https://www.loc.gov/standards/mets/mets.xsd "
                           f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd")
MIME_BY_SUFFIX: Final = {".pdf": "application/pdf", ".txt": "text/plain", ".json": "application/json",
                         ".jsonl": "application/x-ndjson", ".xml": "application/xml", ".png": "image/png",
                         ".jpg": "image/jpeg", ".tif": "image/tiff"}
USE_BY_NAME: Final = {"original": "original", "pdfa.pdf": "preservation", "signed.pdf": "signed",
                      "text.txt": "text", "words.json": "ocr-words", "extracted.json": "extracted",
                      "metadata.json": "metadata", "events.jsonl": "events"}
# The record's TT 01/2023 fields written in the dmdSec, in this order.
RECORD_FIELDS: Final = ("record_id", "record_code", "kind", "agency_code", "dossier_code", "procedure_code",
                        "doc_type_code", "doc_type_name", "owner_id", "owner_name", "title", "number_symbol",
                        "issued_on", "issuing_agency", "summary", "valid_until", "validity_scope",
                        "retention_code", "page_count", "language", "scanned_by", "original_name",
                        "original_sha256", "original_size", "media_type", "created_at")


@dataclass(frozen=True)
class PackageFile:
    """One stored object of a record, as the package carries it (`href` relative to METS.xml)."""

    name: str
    href: str
    sha256: str
    size: int
    mimetype: str


@dataclass(frozen=True)
class PackageEvent:
    action: str
    at: datetime
    agent: str
    tool: str
    tool_version: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class RecordPackage:
    """What a METS document says about one record: its metadata, files and events."""

    record_id: str
    code: str
    title: str
    metadata: dict
    files: tuple[PackageFile, ...]
    events: tuple[PackageEvent, ...]


def package_of(catalog: Catalog, record: Record) -> RecordPackage:
    """The record's package from the catalog: files under `<record code>/`, events oldest first."""
    media_type = str(record.metadata_json.get("media_type") or "application/octet-stream")
    files = tuple(PackageFile(name=obj.name, href=f"{record.code}/{obj.name}", sha256=obj.sha256, size=obj.size,
                              mimetype=mimetype_of(obj.name, media_type))
                  for obj in sorted(record.objects, key=lambda o: o.name))
    events = tuple(PackageEvent(e.action, e.at, e.agent, e.tool, e.tool_version, e.outcome, e.detail)
                   for e in catalog.events_of(record.id))
    return RecordPackage(record.id, record.code, record.title or record.code, dict(record.metadata_json),
                         files, events)


def mimetype_of(name: str, original_media_type: str) -> str:
    if name == "original":
        return original_media_type
    suffix = name[name.rfind("."):] if "." in name else ""
    return MIME_BY_SUFFIX.get(suffix.lower(), "application/octet-stream")


def mets_document(packages: list[RecordPackage], object_id: str, label: str, created: datetime,
                  dossier: bool = False) -> bytes:
    """The METS document (UTF-8 bytes) of the records; `dossier` puts them under one dossier div."""
    root = ET.Element(_m("mets"), {"OBJID": object_id, "LABEL": label[:500],
                                   "TYPE": "dossier" if dossier else "record",
                                   f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATIONS})
    header = ET.SubElement(root, _m("metsHdr"), {"CREATEDATE": _when(created)})
    creator = ET.SubElement(header, _m("agent"), {"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"})
    ET.SubElement(creator, _m("name")).text = f"sohoa {sohoa.__version__}"
    for package in packages:
        root.append(_dmd_sec(package))
    for package in packages:
        root.append(_amd_sec(package))
    file_sec = ET.SubElement(root, _m("fileSec"))
    for package in packages:
        file_sec.append(_file_grp(package))
    struct_map = ET.SubElement(root, _m("structMap"), {"TYPE": "logical"})
    if dossier:
        top = ET.SubElement(struct_map, _m("div"), {"TYPE": "dossier", "LABEL": label[:500]})
        for order, package in enumerate(packages, start=1):
            top.append(_record_div(package, order))
    else:
        struct_map.append(_record_div(packages[0], 1))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def sheet_of(metadata: dict) -> dict[str, str]:
    """The 2025 metadata sheet of a record (empty strings where the record has no value)."""
    number, _, notation = str(metadata.get("number_symbol") or "").partition("/")
    return {"DocCode": str(metadata.get("record_code") or ""),
            "TypeName": str(metadata.get("doc_type_name") or metadata.get("title") or ""),
            "CodeNumber": number.strip(), "CodeNotation": notation.strip(),
            "IssuedDate": _text(metadata.get("issued_on")),
            "OrganName": str(metadata.get("issuing_agency") or ""),
            "Subject": str(metadata.get("summary") or metadata.get("title") or "")}


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def _p(tag: str) -> str:
    return f"{{{PREMIS_NS}}}{tag}"


def _ncname(text: str) -> str:
    """An XML ID part: letters, digits, '.', '-', '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _when(moment: datetime) -> str:
    """ISO 8601 with its offset; the catalog keeps UTC (SQLite hands it back without the zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


def _text(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


def _dmd_sec(package: RecordPackage) -> ET.Element:
    section = ET.Element(_m("dmdSec"), {"ID": f"DMD_{_ncname(package.record_id)}"})
    wrap = ET.SubElement(section, _m("mdWrap"), {"MDTYPE": "OTHER", "OTHERMDTYPE": "TT01-2023-VPCP",
                                                 "LABEL": package.title[:500]})
    record = ET.SubElement(ET.SubElement(wrap, _m("xmlData")), f"{{{SOHOA_NS}}}record")
    for name in RECORD_FIELDS:
        value = package.metadata.get(name)
        if value not in (None, ""):
            ET.SubElement(record, f"{{{SOHOA_NS}}}{name}").text = _text(value)
    for dossier in package.metadata.get("reused_in") or []:
        ET.SubElement(record, f"{{{SOHOA_NS}}}reused_in").text = dossier
    sheet = ET.SubElement(record, f"{{{SOHOA_NS}}}sheet")
    for name, value in sheet_of(package.metadata).items():
        ET.SubElement(sheet, f"{{{SOHOA_NS}}}{name}").text = value
    return section


def _amd_sec(package: RecordPackage) -> ET.Element:
    rid = _ncname(package.record_id)
    section = ET.Element(_m("amdSec"), {"ID": f"AMD_{rid}"})
    for n, file in enumerate(package.files, start=1):
        section.append(_wrapped("techMD", f"TECH_{rid}_{n}", "PREMIS:OBJECT", _premis_object(file)))
    agents = _agents(package)
    for n, event in enumerate(package.events, start=1):
        section.append(_wrapped("digiprovMD", f"EVENT_{rid}_{n}", "PREMIS:EVENT",
                                _premis_event(package, n, event)))
    for n, (kind, name, version) in enumerate(agents, start=1):
        section.append(_wrapped("digiprovMD", f"AGENT_{rid}_{n}", "PREMIS:AGENT",
                                _premis_agent(kind, name, version)))
    return section


def _wrapped(section: str, id_: str, mdtype: str, content: ET.Element) -> ET.Element:
    element = ET.Element(_m(section), {"ID": id_})
    wrap = ET.SubElement(element, _m("mdWrap"), {"MDTYPE": mdtype, "MDTYPEVERSION": "3.0"})
    ET.SubElement(wrap, _m("xmlData")).append(content)
    return element


def _identifier(parent: ET.Element, kind: str, type_: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, _p(kind))
    ET.SubElement(element, _p(f"{kind}Type")).text = type_
    ET.SubElement(element, _p(f"{kind}Value")).text = value
    return element


def _premis_object(file: PackageFile) -> ET.Element:
    obj = ET.Element(_p("object"), {f"{{{XSI_NS}}}type": "premis:file", "version": "3.0"})
    _identifier(obj, "objectIdentifier", "sohoa-path", file.href)
    characteristics = ET.SubElement(obj, _p("objectCharacteristics"))
    ET.SubElement(characteristics, _p("compositionLevel")).text = "0"
    fixity = ET.SubElement(characteristics, _p("fixity"))
    ET.SubElement(fixity, _p("messageDigestAlgorithm")).text = "SHA-256"
    ET.SubElement(fixity, _p("messageDigest")).text = file.sha256
    ET.SubElement(characteristics, _p("size")).text = str(file.size)
    designation = ET.SubElement(ET.SubElement(characteristics, _p("format")), _p("formatDesignation"))
    ET.SubElement(designation, _p("formatName")).text = file.mimetype
    ET.SubElement(obj, _p("originalName")).text = file.name
    return obj


def _agents(package: RecordPackage) -> list[tuple[str, str, str]]:
    """(type, name, version) of every agent the events name: who acted, and the tool (software)."""
    seen: dict[tuple[str, str, str], None] = {}
    for event in package.events:
        seen.setdefault(("person", event.agent, ""), None)
        seen.setdefault(("software", event.tool, event.tool_version), None)
    return list(seen)


def _agent_value(kind: str, name: str, version: str) -> str:
    return f"{name} {version}".strip() if kind == "software" else name


def _premis_event(package: RecordPackage, n: int, event: PackageEvent) -> ET.Element:
    element = ET.Element(_p("event"), {"version": "3.0"})
    _identifier(element, "eventIdentifier", "sohoa-event", f"{package.record_id}/{n}")
    ET.SubElement(element, _p("eventType")).text = event.action
    ET.SubElement(element, _p("eventDateTime")).text = _when(event.at)
    if event.detail:
        detail = ET.SubElement(element, _p("eventDetailInformation"))
        ET.SubElement(detail, _p("eventDetail")).text = event.detail
    outcome = ET.SubElement(element, _p("eventOutcomeInformation"))
    ET.SubElement(outcome, _p("eventOutcome")).text = event.outcome
    for kind, name, version, role in (("person", event.agent, "", "executing agent"),
                                      ("software", event.tool, event.tool_version, "executing program")):
        link = _identifier(element, "linkingAgentIdentifier", f"sohoa-{kind}", _agent_value(kind, name, version))
        ET.SubElement(link, _p("linkingAgentRole")).text = role
    _identifier(element, "linkingObjectIdentifier", "sohoa-record", package.code)
    return element


def _premis_agent(kind: str, name: str, version: str) -> ET.Element:
    element = ET.Element(_p("agent"), {"version": "3.0"})
    _identifier(element, "agentIdentifier", f"sohoa-{kind}", _agent_value(kind, name, version))
    ET.SubElement(element, _p("agentName")).text = name
    ET.SubElement(element, _p("agentType")).text = kind
    if version:
        ET.SubElement(element, _p("agentVersion")).text = version
    return element


def _file_grp(package: RecordPackage) -> ET.Element:
    rid = _ncname(package.record_id)
    group = ET.Element(_m("fileGrp"), {"ID": f"FG_{rid}", "USE": package.code})
    for n, file in enumerate(package.files, start=1):
        element = ET.SubElement(group, _m("file"), {
            "ID": f"FILE_{rid}_{n}", "MIMETYPE": file.mimetype, "SIZE": str(file.size),
            "CHECKSUM": file.sha256, "CHECKSUMTYPE": "SHA-256", "ADMID": f"TECH_{rid}_{n}",
            "USE": USE_BY_NAME.get(file.name, "other")})
        ET.SubElement(element, _m("FLocat"), {"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple",
                                              f"{{{XLINK_NS}}}href": file.href})
    return group


def _record_div(package: RecordPackage, order: int) -> ET.Element:
    rid = _ncname(package.record_id)
    div = ET.Element(_m("div"), {"TYPE": "record", "ORDER": str(order), "LABEL": package.title[:500],
                                 "DMDID": f"DMD_{rid}", "ADMID": f"AMD_{rid}"})
    for n in range(1, len(package.files) + 1):
        ET.SubElement(div, _m("fptr"), {"FILEID": f"FILE_{rid}_{n}"})
    return div
