"""The ratio chart (PNG or SVG by extension): one panel per indicator, a bar per agency with its
target marked, or with --by month one line per top agency over the months. Vietnamese labels."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.indicators import INDICATORS, LABELS_VI
from sohoa.ratios.report import Report, ReportRow

FORMATS: Final = {".png": "png", ".svg": "svg"}
# DejaVu Sans covers every Vietnamese letter with its tone marks, and matplotlib ships it,
# so labels render the same on any machine, fonts-dejavu installed or not.
FONT: Final = "DejaVu Sans"
MAX_BARS: Final = 40  # beyond that labels overlap: the chart keeps the first rows in tree order
BAR: Final = "#2e7d32"
BAR_BELOW: Final = "#c62828"
TARGET: Final = "#1a237e"
NO_DATA_VI: Final = "không có dữ liệu"


def check_path(path: Path) -> str:
    """The format for the file name, checked before any work is done."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SohoaError(f"{path}: the chart must be a .png or .svg file", ExitCode.USAGE)
    if not path.parent.resolve().is_dir():
        raise SohoaError(f"{path}: folder {path.parent} does not exist", ExitCode.OUTPUT_ERROR)
    return fmt


def draw(report: Report, path: Path) -> None:
    fmt = check_path(path)
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in workers
    from matplotlib import pyplot as plt

    style = {"font.family": FONT, "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False}
    with plt.rc_context(style):
        figure = _trend(report, plt) if report.by_month else _bars(report, plt)
        partial = path.with_name(f".{path.name}.partial")
        try:
            figure.savefig(partial, format=fmt, dpi=120)
            partial.replace(path)
        except OSError as exc:
            raise SohoaError(f"{path}: cannot write ({exc.strerror})", ExitCode.OUTPUT_ERROR) from None
        finally:
            partial.unlink(missing_ok=True)
            plt.close(figure)


def _title(report: Report) -> str:
    return (f"Chỉ số số hóa hồ sơ (QĐ 766/QĐ-TTg), kỳ {report.period.label} "
            f"({report.period.start:%d/%m/%Y}–{report.period.end:%d/%m/%Y})")


def _bars(report: Report, plt):
    rows = report.rows[:MAX_BARS]
    # Tick labels are right-aligned, so leading spaces would vanish: dots show the depth instead.
    labels = ["· " * row.depth + f"{row.agency_name} ({row.agency_code})" for row in rows]
    height = 1.6 + 0.32 * len(rows)
    figure, axes = plt.subplots(2, 2, figsize=(15, 2 * height), sharey=True)
    positions = list(range(len(rows)))[::-1]  # the first agency on top
    for axis, indicator in zip(axes.flat, INDICATORS):
        values = [row.values[indicator] for row in rows]
        rates = [0 if v.rate is None else v.rate * 100 for v in values]
        colours = [BAR_BELOW if v.below_target else BAR for v in values]
        axis.barh(positions, rates, color=colours, height=0.7)
        for y, value in zip(positions, values):
            axis.vlines(value.target * 100, y - 0.42, y + 0.42, colors=TARGET, linewidth=2)
            text = (NO_DATA_VI if value.rate is None
                    else f"{value.rate * 100:.1f}".replace(".", ",") + f"% ({value.numerator}/{value.denominator})")
            axis.text(min(value.rate or 0, 1) * 100 + 1, y, text, va="center", fontsize=8)
        axis.set_title(LABELS_VI[indicator], fontsize=11)
        axis.set_xlim(0, 125)
        axis.set_xticks([0, 20, 40, 60, 80, 100])
        axis.set_xlabel("Tỷ lệ (%), vạch xanh đậm: chỉ tiêu")
        axis.set_yticks(positions, labels, fontsize=8)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    figure.legend(handles=[Patch(color=BAR, label="đạt chỉ tiêu"),
                           Patch(color=BAR_BELOW, label="chưa đạt chỉ tiêu"),
                           Line2D([], [], color=TARGET, linewidth=2, label="chỉ tiêu")],
                  loc="lower center", ncol=3, fontsize=9, frameon=False)
    figure.suptitle(_title(report), fontsize=13)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    return figure


def _trend(report: Report, plt):
    top = min(row.depth for row in report.rows)
    series: dict[str, list[ReportRow]] = {}
    for row in report.rows:
        if row.depth == top:
            series.setdefault(row.agency_code, []).append(row)
    months = [row.period.label for row in next(iter(series.values()))]
    figure, axes = plt.subplots(2, 2, figsize=(14, 9), sharex=True)
    for axis, indicator in zip(axes.flat, INDICATORS):
        for code, rows in list(series.items())[:8]:
            rates = [None if row.values[indicator].rate is None else row.values[indicator].rate * 100 for row in rows]
            axis.plot(months, [float("nan") if r is None else r for r in rates], marker="o",
                      label=f"{rows[0].agency_name} ({code})")
            axis.plot(months, [row.values[indicator].target * 100 for row in rows], linestyle="--",
                      color=TARGET, linewidth=1)
        axis.set_title(LABELS_VI[indicator], fontsize=11)
        axis.set_ylim(0, 105)
        axis.set_ylabel("Tỷ lệ (%), nét đứt: chỉ tiêu")
        axis.tick_params(axis="x", labelrotation=45)
    axes.flat[0].legend(fontsize=8, loc="best")
    figure.suptitle(_title(report) + ", theo tháng", fontsize=13)
    figure.tight_layout()
    return figure
