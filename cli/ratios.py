"""`sohoa agencies | targets | dossiers | ratios`: the QĐ 766 ratio commands (issue #6)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sohoa.cli.common import PathArg, open_catalog
from sohoa.core.errors import ExitCode

INDICATOR_OPTIONS = {  # indicator key → its option, for messages
    "dossier_digitisation": "--dossier-digitisation", "result_digitisation": "--result-digitisation",
    "reuse": "--reuse", "electronic_results": "--electronic-results",
}


def _report_import(what: str, path: Path, report) -> None:
    print(f"{what} import: {report.imported} imported ({report.inserted} new, {report.updated} updated), "
          f"{len(report.rejected)} rejected")
    for error in report.rejected:
        print(f"{path}:{error.line}: {error.reason}", file=sys.stderr)
    if report.rejected:
        sys.exit(ExitCode.INVALID_CODE)


@click.group()
def agencies() -> None:
    """The agency hierarchy (province → department/district → commune)."""


@agencies.command("import")
@click.argument("file", type=PathArg)
def agencies_import(file: Path) -> None:
    """Import or update agencies from a CSV with header code,name,parent_code,level.

    Invalid rows are reported line by line (exit 14); the valid rows are imported anyway.
    """
    from sohoa.ratios.agencies import import_agencies

    _report_import("agencies", file, import_agencies(open_catalog(), file))


@agencies.command("list")
def agencies_list() -> None:
    """The agency tree, indented."""
    from sohoa.ratios.agencies import load_tree

    tree = load_tree(open_catalog())
    for code, depth in tree.walk(tree.roots):
        agency = tree.agencies[code]
        print(f"{'  ' * depth}{code}  {agency.level:10}  {agency.name}")


@click.group()
def targets() -> None:
    """Per-agency targets and points of the four indicators (inherited from the parent agency)."""


@targets.command("set")
@click.option("--agency", help="Agency code; without it, the default of every agency.")
@click.option("--dossier-digitisation", "dossier_digitisation", metavar="PCT", help="Target %, e.g. 80.")
@click.option("--result-digitisation", "result_digitisation", metavar="PCT", help="Target %.")
@click.option("--reuse", "reuse", metavar="PCT", help="Target %.")
@click.option("--electronic-results", "electronic_results", metavar="PCT", help="Target %.")
@click.option("--points", type=click.FloatRange(min=0, min_open=True),
              help="Points of the named indicators (of all four if none is named).")
@click.option("--inherit", is_flag=True, help="Drop the agency's own targets and points: inherit them all.")
def targets_set(agency: str | None, points: float | None, inherit: bool, **given: str | None) -> None:
    """Set targets (in %) and points for an agency or for all agencies."""
    from sohoa.ratios import targets as target_store
    from sohoa.ratios.agencies import load_tree

    catalog = open_catalog()
    code = target_store.change(catalog, agency, given, points, inherit, INDICATOR_OPTIONS)
    _print_targets(catalog, load_tree(catalog), [code])


@targets.command("show")
@click.option("--agency", help="Agency code; without it, every agency.")
def targets_show(agency: str | None) -> None:
    """The targets and points in force, after inheritance."""
    from sohoa.ratios import targets as target_store
    from sohoa.ratios.agencies import load_tree, require_agency

    catalog = open_catalog()
    tree = load_tree(catalog)
    codes = [require_agency(tree, agency)] if agency else [target_store.ALL_AGENCIES] + \
        [code for code, _ in tree.walk(tree.roots)]
    _print_targets(catalog, tree, codes)


@targets.command("preset")
@click.argument("name")
@click.option("--agency", help="Agency code; without it, the default of every agency.")
def targets_preset(name: str, agency: str | None) -> None:
    """Apply a named preset's targets (see `sohoa targets presets`); points stay as they are."""
    from sohoa.ratios import presets
    from sohoa.ratios.agencies import load_tree

    catalog = open_catalog()
    preset, code = presets.apply(catalog, name, agency)
    print(f"preset {preset.key} applied ({preset.name}); source: {preset.source}")
    _print_targets(catalog, load_tree(catalog), [code])


@targets.command("presets")
def targets_presets() -> None:
    """The named presets, their targets and their sources."""
    from sohoa.ratios import presets
    from sohoa.ratios.indicators import INDICATORS

    for preset in presets.load().values():
        values = ", ".join(f"{indicator} {preset.targets[indicator] * 100:g}%"
                           for indicator in INDICATORS if indicator in preset.targets)
        print(f"{preset.key}{' (default)' if preset.default else ''}: {preset.name}")
        print(f"  {values}")
        print(f"  source: {preset.source}")


def _print_targets(catalog, tree, codes: list[str]) -> None:
    from sohoa.ratios import targets as target_store
    from sohoa.ratios.indicators import INDICATORS

    print("agency          " + "  ".join(f"{indicator:>24}" for indicator in INDICATORS))
    for label, cells in target_store.table(catalog, tree, codes):
        print((f"{label:16}" + "  ".join(cell.rjust(24) for cell in cells)).rstrip())
    print("target / points; * = set on this agency, otherwise inherited from the parent or the default")


@click.group()
def dossiers() -> None:
    """The dossier registry from the one-stop system."""


@dossiers.command("import")
@click.argument("file", type=PathArg)
def dossiers_import(file: Path) -> None:
    """Import or update dossiers from a CSV with header
    dossier_code,agency_code,procedure_code,received_on,channel,owner_id,result_issued_on,result_form
    (optional: result_code, components, electronic_components, exempt_desk, exempt_verification,
    exempt_secret, exempt_other).

    Invalid rows are reported line by line (exit 14); the valid rows are imported anyway.
    """
    from sohoa.ratios.registry import import_dossiers

    _report_import("dossiers", file, import_dossiers(open_catalog(), file))


@click.group()
def procedures() -> None:
    """The procedure catalogue (code, name, field): forms and pages show procedures by name."""


@procedures.command("import")
@click.argument("file", type=PathArg)
def procedures_import(file: Path) -> None:
    """Import or update procedures from a CSV with header code,name,field.

    Invalid rows are reported line by line (exit 14); the valid rows are imported anyway.
    """
    from sohoa.ratios.procedures import import_procedures

    _report_import("procedures", file, import_procedures(open_catalog(), file))


@procedures.command("list")
def procedures_list() -> None:
    """The procedures, by field then name."""
    from sohoa.ratios.procedures import load_procedures

    for row in load_procedures(open_catalog()).values():
        print(f"{row.code:24} {row.field[:30]:30} {row.name}")


@dossiers.command("show")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["json", "dvcqg"]), default="json", show_default=True,
              help="json: sohoa's dossier view; dvcqg: the national portal's fields (SOHOA_DVCQG_MAPPING).")
@click.option("--as", "as_user", metavar="USER", help="Look it up as this web user (their agencies; audited).")
def dossiers_show(code: str, fmt: str, as_user: str | None) -> None:
    """A dossier: registry row, components, results, reuse, what the owner's Kho holds that it lacks."""
    import json

    from sohoa.cli.common import acting_user, open_archive, open_index
    from sohoa.core.settings import get_settings
    from sohoa.ratios import dvcqg
    from sohoa.web import audit, roles, scope
    from sohoa.web.dossiers import view

    archive = open_archive()
    principal = acting_user(archive.catalog, as_user, roles.DOSSIERS, "view dossiers") if as_user else None
    seen = scope.scope_of(archive.catalog, principal) if principal else scope.EVERYTHING
    found = view(archive, open_index(), seen, code)
    if principal is not None:
        audit.write(archive.catalog, principal.username, audit.DOSSIER, None, f"hồ sơ {found.code}", "cli",
                    records=found.shown, dossier=found.code)
    document = found.to_json()
    if fmt == "dvcqg":
        settings = get_settings()
        document = dvcqg.apply(dvcqg.load(settings.dvcqg_mapping), document, settings.public_url)
    print(json.dumps(document, ensure_ascii=False, indent=2, default=str))


@click.command()
@click.option("--period", help="2024, 2024-Q1 or 2024-03 [default: the current year].")
@click.option("--from", "start", metavar="DATE", help="First day YYYY-MM-DD (with --to).")
@click.option("--to", "end", metavar="DATE", help="Last day YYYY-MM-DD, inclusive (with --from).")
@click.option("--agency", help="Start at this agency (its row covers its subordinates).")
@click.option("--depth", type=click.IntRange(min=0), help="Levels shown below the first agency (0 = it alone).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--chart", type=PathArg, help="Also draw a chart: FILE.png or FILE.svg.")
@click.option("--by", "by", type=click.Choice(["month"]), help="One row per month (a trend).")
def ratios(period, start, end, agency, depth, fmt, chart, by) -> None:
    """Digitisation, reuse and electronic-result ratios per agency (QĐ 766), with targets and scores."""
    from sohoa.ratios import chart as ratio_chart
    from sohoa.ratios import render
    from sohoa.ratios.periods import choose_period
    from sohoa.ratios.report import build

    chosen = choose_period(period, start, end)
    if chart is not None:
        ratio_chart.check_path(chart)  # refuse a bad file name before the work
    report = build(open_catalog(), chosen, agency=agency, depth=depth, by_month=by == "month")
    print({"table": render.to_table, "json": render.to_json, "csv": render.to_csv}[fmt](report).rstrip("\n"))
    if chart is not None:
        ratio_chart.draw(report, chart)
        print(f"chart: {chart}", file=sys.stderr)


COMMANDS = [agencies, targets, dossiers, procedures, ratios]
