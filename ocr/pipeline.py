"""`sohoa ocr`: one input file → one validated PDF/A record file.

The pipeline is an ordered list of stages:

1. inspect   — sniff the bytes, refuse bad input before any work (inputs.inspect)
2. pages     — per page, in parallel worker processes (page.process_page):
               load → orient/deskew/clean (OpenCV) → Tesseract → place words → encode image
3. assemble  — pages appended in input order into a PDF/A builder (pdfa.PdfABuilder)
4. save      — written to a temporary file beside the output
5. validate  — structural checks always, PDFBox Preflight on request
6. publish   — atomic rename: the output exists only if valid

At most `2 × jobs` pages are in flight, so a 300-page file never holds 300
decoded pages in memory. `run_many` takes several files through one pool, the
window spanning file boundaries (`sohoa ocr IN… --out-dir DIR`).
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Final, Iterable, Iterator, Literal, Mapping

import sohoa
from sohoa.core.errors import ExitCode, OutputInvalid, SohoaError
from sohoa.ocr import engines, tesseract
from sohoa.ocr.report import FileReport, ValidationReport
from sohoa.ocr.sniff import sniff

if TYPE_CHECKING:  # what the first page does not need is imported when it is used (issue #17)
    from concurrent.futures import Future, ProcessPoolExecutor

    from sohoa.core.settings import Settings
    from sohoa.ocr.page import PageOutcome, PageTask
    from sohoa.ocr.pdfa import Level

Validator = Literal["structural", "preflight", "none"]


@dataclass(slots=True)
class OcrOptions:
    pdfa: Level = "2b"
    lang: str = "vie"
    jobs: int = 1
    validate: Validator = "structural"
    title: str = ""
    tessdata: Path | None = None
    max_pixels: int = 250_000_000
    max_pages: int | None = None  # None: no limit (`sohoa ocr` of one file); settings give 2,000
    max_page_bytes: int | None = 220_000_000
    engine: str = engines.DEFAULT  # the OCR engine seam (ocr/engines.py): a name or module:attribute

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides) -> "OcrOptions":
        from sohoa.core.settings import get_settings

        settings = settings or get_settings()
        base = cls(lang=settings.ocr_lang, jobs=settings.jobs, tessdata=settings.tessdata_dir,
                   max_pixels=settings.max_pixels, max_pages=settings.max_pages,
                   max_page_bytes=settings.max_page_bytes, engine=settings.ocr_engine)
        return base._overridden(overrides)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "OcrOptions":
        """The same options as `from_settings(Settings.from_env())`, read without pydantic: the
        `sohoa ocr` start-up (issue #17). tests/test_speed_ocr.py checks the two agree."""
        environ = os.environ if environ is None else environ

        def number(name: str, default: int) -> int:
            text = environ.get(f"SOHOA_{name}")
            if not text:
                return default
            try:
                value = int(text.strip())
            except ValueError:
                raise SohoaError(f"invalid setting SOHOA_{name}: Input should be a valid integer",
                                 ExitCode.USAGE) from None
            if value <= 0:
                raise SohoaError(f"invalid setting SOHOA_{name}: Input should be greater than 0", ExitCode.USAGE)
            return value

        tessdata = environ.get("SOHOA_TESSDATA_DIR")
        base = cls(lang=environ.get("SOHOA_OCR_LANG") or SETTINGS_DEFAULTS["ocr_lang"],
                   jobs=number("JOBS", os.cpu_count() or 1), tessdata=Path(tessdata) if tessdata else None,
                   max_pixels=number("MAX_PIXELS", SETTINGS_DEFAULTS["max_pixels"]),
                   max_pages=number("MAX_PAGES", SETTINGS_DEFAULTS["max_pages"]),
                   max_page_bytes=number("MAX_PAGE_BYTES", SETTINGS_DEFAULTS["max_page_bytes"]),
                   engine=environ.get("SOHOA_OCR_ENGINE") or SETTINGS_DEFAULTS["ocr_engine"])
        return base._overridden(overrides)

    def _overridden(self, overrides: dict) -> "OcrOptions":
        for key, value in overrides.items():
            if value is not None:
                setattr(self, key, value)
        return self


# The defaults of core/settings.py's Settings for the fields above (a test keeps them equal).
SETTINGS_DEFAULTS: Final[dict] = {"ocr_lang": "vie", "ocr_engine": "tesseract", "max_pixels": 250_000_000,
                                  "max_pages": 2000, "max_page_bytes": 220_000_000}


@dataclass(slots=True)
class OcrResult:
    report: FileReport
    texts: list[str] = field(default_factory=list)  # per page, NFC
    word_boxes: list[list[dict]] = field(default_factory=list)


# ---------------------------------------------------------------- worker side

_RECOGNIZER: engines.Engine | None = None


def _init_worker(engine: str, lang: str, tessdata: Path | None) -> None:
    global _RECOGNIZER
    _RECOGNIZER = engines.BackgroundEngine(engine, lang, tessdata)  # the first page is decoded meanwhile


def _run_task(task: PageTask) -> PageOutcome:
    from sohoa.ocr.page import process_page

    assert _RECOGNIZER is not None
    return process_page(task, _RECOGNIZER)


_KEPT: dict[tuple[str, str, Path | None], engines.BackgroundEngine] = {}


def _kept_engine(options: OcrOptions) -> engines.BackgroundEngine:
    """This process's engine; it outlives the call because loading the model costs more than a page.
    The first call starts the load in a thread and returns at once (see engines.BackgroundEngine).
    A load that failed is not kept: the next call tries again (a long-lived worker recovers)."""
    key = (options.engine, options.lang, options.tessdata)
    if key not in _KEPT or _KEPT[key].failed:
        _KEPT[key] = engines.BackgroundEngine(*key)
    return _KEPT[key]


def warm_up(options: OcrOptions) -> None:
    """Start loading the engine now, while this process still imports and plans (one process only)."""
    _kept_engine(options)


def _pool(jobs: int, options: OcrOptions) -> ProcessPoolExecutor:
    """Page processes, forked: no engine load may be half-way through in a thread at the fork."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    import sohoa.ocr.page  # noqa: F401 - imported once here, not in every forked process

    for engine in _KEPT.values():
        engine.wait()
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one Tesseract thread per process: the processes fill the cores
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork"), initializer=_init_worker,
                               initargs=(options.engine, options.lang, options.tessdata))


def process_pages(tasks: list[PageTask], options: OcrOptions) -> list[PageOutcome]:
    """Some pages of a file in this process (a distributed OCR task)."""
    return list(recognise_pages(tasks, replace(options, jobs=1)))


# ---------------------------------------------------------------- parent side


def recognise_pages(tasks: list[PageTask], options: OcrOptions) -> Iterator[PageOutcome]:
    """Page outcomes in input order; parallel when there is more than one page and job."""
    from sohoa.ocr import inputs
    from sohoa.ocr.page import process_page

    jobs = max(1, min(options.jobs, len(tasks)))
    if jobs == 1:
        recognizer = _kept_engine(options)
        try:
            for task in tasks:
                yield process_page(task, recognizer)
        finally:
            inputs.release()
        return
    with _pool(jobs, options) as pool:
        pending: deque[Future[PageOutcome]] = deque()
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.submit(_run_task, task))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            outcome = pending.popleft().result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(_run_task, nxt))
            yield outcome


@dataclass(slots=True)
class Plan:
    """What stage 1 learnt about an input: its report so far and one task per page."""

    report: FileReport
    tasks: list[PageTask]
    title: str


def plan(input_path: Path, output_path: Path, options: OcrOptions) -> Plan:
    """Stage 1: refuse bad input before any work, and list the pages to process."""
    from sohoa.ocr import inputs
    from sohoa.ocr.page import PageTask

    if options.engine == engines.DEFAULT:
        tesseract.check_language(options.lang, options.tessdata)
    engines.factory(options.engine)  # an unknown engine is refused here; its version is read at assembly
    document = inputs.inspect(input_path, options.max_pixels, options.max_pages, options.max_page_bytes)
    report = FileReport(
        input=printable(str(input_path)), input_type=document.kind, output=printable(str(output_path)),
        pdfa=f"PDF/A-{options.pdfa.upper()}", language=options.lang,
        tesseract="", sohoa=sohoa.__version__,
        page_count=document.page_count, warnings=list(document.warnings),
    )
    frames = document.frames or list(range(document.page_count))
    tasks = [PageTask(input_path, document.kind, i, frames[i]) for i in range(document.page_count)]
    return Plan(report, tasks, printable(options.title or input_path.stem))


def run(
    input_path: Path,
    output_path: Path,
    options: OcrOptions,
    progress: Callable[[int, int], None] | None = None,
) -> OcrResult:
    started = time.perf_counter()
    check_output_path(output_path, input_path)
    if options.jobs == 1 or sniff(input_path) in ("png", "jpeg"):  # one page, or one process: no fork
        warm_up(options)
    planned = plan(input_path, output_path, options)  # stage 1
    return assemble(planned, recognise_pages(planned.tasks, options), output_path, options, started, progress)


@dataclass(slots=True)
class FileOutcome:
    """One input of `run_many`: its result, or the error that ended it (nothing published then)."""

    input: Path
    output: Path
    result: OcrResult | None = None
    error: SohoaError | None = None


def run_many(pairs: list[tuple[Path, Path]], options: OcrOptions) -> Iterator[FileOutcome]:
    """Several inputs → their outputs, in order, with one pool for all their pages.

    The pages of the next files are recognised while this process assembles and validates the
    current one, so small files keep every core busy. A bad file ends alone: its error is in its
    outcome and the other files go on."""
    planned: list[tuple[Path, Path, Plan, float]] = []
    if options.jobs == 1:
        warm_up(options)
    for source, output in pairs:
        started = time.perf_counter()
        try:
            check_output_path(output, source)
            planned.append((source, output, plan(source, output, options), started))
        except SohoaError as error:
            yield FileOutcome(source, output, error=error)
    if not planned:
        return
    stream = _PageStream([p.tasks for _, _, p, _ in planned], options)
    with stream:
        for source, output, file_plan, started in planned:
            try:
                result = assemble(file_plan, stream.file(), output, options, started)
                yield FileOutcome(source, output, result)
            except SohoaError as error:
                yield FileOutcome(source, output, error=error)
            finally:
                stream.skip_rest()


class _PageStream:
    """The pages of several files through one window of `2 × jobs` in flight, handed back file by file."""

    def __init__(self, files: list[list[PageTask]], options: OcrOptions) -> None:
        self.sizes = [len(tasks) for tasks in files]
        self.tasks = iter([task for tasks in files for task in tasks])
        self.options, self.index, self.taken = options, -1, 0
        self.jobs = max(1, min(options.jobs, sum(self.sizes)))
        self.pool: ProcessPoolExecutor | None = None
        self.pending: deque[Future[PageOutcome]] = deque()

    def __enter__(self) -> "_PageStream":
        if self.jobs > 1:
            self.pool = _pool(self.jobs, self.options)
            for task in self.tasks:
                self.pending.append(self.pool.submit(_run_task, task))
                if len(self.pending) >= 2 * self.jobs:
                    break
        return self

    def __exit__(self, *exc) -> None:
        from sohoa.ocr import inputs

        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        inputs.release()

    def _next(self) -> PageOutcome:
        if self.pool is None:
            from sohoa.ocr.page import process_page

            return process_page(next(self.tasks), _kept_engine(self.options))
        future = self.pending.popleft()
        nxt = next(self.tasks, None)
        if nxt is not None:
            self.pending.append(self.pool.submit(_run_task, nxt))
        return future.result()

    def file(self) -> Iterator[PageOutcome]:
        """The next file's page outcomes in order; a page's error is raised here."""
        self.index, self.taken = self.index + 1, 0
        while self.taken < self.sizes[self.index]:
            self.taken += 1
            yield self._next()

    def skip_rest(self) -> None:
        """Drop what is left of the current file after it failed: the next file starts at its first page."""
        while self.taken < self.sizes[self.index]:
            self.taken += 1
            try:
                self._next()
            except Exception:  # noqa: BLE001 - the file already failed with its first error
                pass


def assemble(
    planned: Plan,
    outcomes: Iterable[PageOutcome],
    output_path: Path,
    options: OcrOptions,
    started: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OcrResult:
    """Stages 3-6: page outcomes (in input order, from this process or from workers) → published PDF/A."""
    from sohoa.ocr.pdfa import PdfABuilder

    started = time.perf_counter() if started is None else started
    report = planned.report
    result = OcrResult(report)
    builder: PdfABuilder | None = None
    for done, outcome in enumerate(outcomes, start=1):  # stages 2-3
        if builder is None:  # made once the first page is back: pikepdf is not needed before
            builder = PdfABuilder(options.pdfa, title=planned.title)
        builder.add_page(outcome.width_pt, outcome.height_pt, outcome.image, outcome.image_cm, outcome.words)
        report.pages.append(outcome.report)
        result.texts.append(outcome.text)
        result.word_boxes.append(outcome.word_boxes)
        for stage, seconds in outcome.report.seconds.items():
            report.stage_seconds[stage] = round(report.stage_seconds.get(stage, 0.0) + seconds, 4)
        if progress:
            progress(done, report.page_count)
    if len(report.pages) != report.page_count:  # a lost page must never publish a short record
        raise SohoaError(f"{report.input}: {len(report.pages)} of {report.page_count} pages came back",
                         ExitCode.INTERNAL)
    assert builder is not None  # a plan has at least one page
    report.tesseract = report.tesseract or engines.version(options.engine)

    partial = _partial_path(output_path)
    try:
        t = time.perf_counter()
        builder.save(partial)  # stage 4
        report.stage_seconds["save"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        _validate(partial, options, report)  # stage 5
        report.stage_seconds["validate"] = round(time.perf_counter() - t, 4)
        os.replace(partial, output_path)  # stage 6
    except OSError as exc:
        raise SohoaError(f"{printable(str(output_path))}: cannot write output ({exc.strerror})",
                         ExitCode.OUTPUT_ERROR) from None
    finally:
        partial.unlink(missing_ok=True)
    report.output_bytes = output_path.stat().st_size
    report.bytes_per_page = round(report.output_bytes / max(1, report.page_count), 1)
    report.seconds = round(time.perf_counter() - started, 3)
    return result


def check_output_path(output_path: Path, input_path: Path | None = None) -> None:
    """Refuse before any work: a missing folder, a directory, or the input itself."""
    if output_path.is_dir():
        raise SohoaError(f"{printable(str(output_path))}: is a directory", ExitCode.OUTPUT_ERROR)
    if not output_path.parent.is_dir():
        raise SohoaError(f"{printable(str(output_path))}: output folder does not exist", ExitCode.OUTPUT_ERROR)
    if input_path is not None and output_path.exists():
        try:
            same = output_path.samefile(input_path)
        except OSError:
            same = False
        if same:
            raise SohoaError(f"{printable(str(output_path))}: would overwrite the input", ExitCode.USAGE)


def printable(text: str) -> str:
    """Text safe for XMP, JSON and a terminal: undecodable bytes and control characters replaced."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _UNPRINTABLE.sub("\ufffd", text)


_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _partial_path(output_path: Path) -> Path:
    # An ASCII name: the final name may hold bytes a library cannot encode.
    return output_path.parent / f".sohoa-{os.getpid()}-{time.monotonic_ns()}.partial"


def _validate(path: Path, options: OcrOptions, report: FileReport) -> None:
    from sohoa.ocr import validate

    checks = []
    if options.validate != "none":
        checks.append(validate.structural(path, options.pdfa))
    if options.validate == "preflight":
        if options.pdfa != "1b":
            raise SohoaError("PDFBox Preflight validates PDF/A-1b only: use --pdfa 1b", ExitCode.USAGE)
        checks.append(validate.preflight(path))
    for check in checks:
        report.validation.append(ValidationReport(validator=check.validator, valid=check.valid, errors=check.errors))
        if not check.valid:
            raise OutputInvalid(f"{check.validator}: output is not valid PDF/A: {'; '.join(check.errors[:3])}")
