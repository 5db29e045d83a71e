"""`sohoa worker | watch | batch | jobs | run`: the distributed pipeline's commands."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import click

from sohoa.cli.common import PathArg, open_archive
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.workers.names import QUEUE_NAMES


def _log_to_stderr(verbose: bool) -> None:
    logging.getLogger("sohoa").setLevel(logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("sohoa")
    logger.addHandler(handler)
    logger.propagate = False  # the root handler of `sohoa.cli.main` would print each line twice


def _supervisor():
    from sohoa.core.settings import get_settings
    from sohoa.workers.app import create_app, sender
    from sohoa.workers.supervisor import Supervisor

    settings = get_settings()
    return Supervisor(open_archive(settings), sender(create_app(settings)), settings)


@click.command()
@click.option("--queues", "-Q", default=",".join(QUEUE_NAMES), show_default=True,
              help="Comma-separated queues this worker consumes.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: SOHOA_JOBS, all cores].")
@click.option("--name", "-n", default=None, help="Worker node name [default: sohoa-<pid>@<host>].")
@click.option("--loglevel", default="WARNING", show_default=True)
@click.option("--beat", is_flag=True, help="Also send the scheduled tasks (fixity slices): one worker per deployment.")
def worker(queues: str, concurrency: Optional[int], name: Optional[str], loglevel: str, beat: bool) -> None:
    """Run a Celery worker for the OCR, ingest, archive and index queues."""
    from sohoa.core.settings import get_settings

    settings = get_settings()
    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(chosen) - set(QUEUE_NAMES))
    if unknown or not chosen:
        raise SohoaError(f"unknown queue(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(QUEUE_NAMES)}",
                         ExitCode.USAGE)
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # "no hostname" for the file broker
    open_archive(settings).catalog.dispose()  # migrate once here, not in every pool process at once
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one Tesseract thread per process: the pool fills the cores
    from sohoa.workers.app import create_app

    app = create_app(settings)
    argv = ["worker", "-Q", ",".join(chosen), "-c", str(concurrency or settings.jobs), "-P", "prefork",
            "-n", name or f"sohoa-{os.getpid()}@%h", "--loglevel", loglevel]
    if beat:  # Celery beat in this worker: sohoa.fixity_slice every SOHOA_FIXITY_INTERVAL / 168 seconds
        argv += ["-B", "-s", str((settings.data_dir / "celerybeat-schedule").resolve())]
    if not settings.broker_url:  # the embedded file broker has no broadcast channel
        argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        app.conf.worker_enable_remote_control = False
    app.worker_main(argv)


@click.command()
@click.option("--inbox", type=PathArg, default=None, help="Hot folder [SOHOA_INBOX_DIR, default DATA/inbox].")
@click.option("--poll", type=click.FloatRange(min=0.1), default=0.5, show_default=True, help="Seconds between scans.")
@click.option("--once", is_flag=True, help="Scan until the inbox is settled, then exit (for scripts).")
@click.option("--verbose", "-v", is_flag=True)
def watch(inbox: Optional[Path], poll: float, once: bool, verbose: bool) -> None:
    """Take stable files from the hot folder to the workers; move them to done/ or quarantine/."""
    from sohoa.workers.hotfolder import Folders, HotFolder

    _log_to_stderr(verbose)
    from sohoa.workers.schedule import FixitySchedule

    supervisor = _supervisor()
    settings = supervisor.settings
    folders = Folders.under(settings.data_dir, inbox or settings.inbox_dir)
    hot = HotFolder(supervisor, folders, settings.stable_seconds, operator=settings.hotfolder_operator)
    print(f"sohoa watch: {folders.inbox} → {folders.done} | {folders.quarantine}", file=sys.stderr, flush=True)
    if once:
        supervisor.recover()
        while hot.pending():  # skipped entries (FIFOs, devices, …) are not pending: --once ends
            hot.scan()
            time.sleep(poll)
        return
    if not settings.broker_url:  # embedded: scheduled fixity from this loop; with Redis, Celery beat (sohoa run)
        from sohoa.workers.webhooks import WebhookLoop

        supervisor.fixity = FixitySchedule(supervisor.archive, settings)
        supervisor.webhooks = WebhookLoop(supervisor.archive.catalog, settings)  # and the webhook deliveries
    hot.run(poll)


@contextmanager
def worker_while(enabled: bool, log_path: Path) -> Iterator[None]:
    """A worker for the duration of a command, for a machine without a running `sohoa worker`.

    Its output (Celery's banner, the root-user warning, task logs) goes to `log_path`, not to the
    terminal where the command shows its progress."""
    if not enabled:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "sohoa", "worker"], stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        stop_children([process])


def stop_children(children: list[subprocess.Popen], grace_seconds: float = 60) -> None:
    """SIGTERM all at once (they finish their current task), then SIGKILL what outlives the grace."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            child.kill()


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--manifest", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="CSV: path,agency,dossier,procedure,kind,doc_type,owner_id,title,issued_on,retention.")
@click.option("--job", "job_name", default=None, help="Job name [default: from the folder]; same name resumes.")
@click.option("--local-worker/--no-local-worker", default=None,
              help="Start a worker for this batch [default: yes with the embedded broker, no with Redis].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def batch(folder: Path, manifest: Optional[Path], job_name: Optional[str], local_worker: Optional[bool],
          as_json: bool) -> None:
    """Digitise a back-file folder through the workers; resumable; writes a CSV + JSON report."""
    from sohoa.core.settings import get_settings
    from sohoa.workers import batch as batches
    from sohoa.workers import jobs

    name = batches.check_job_name(job_name or batches.default_job_name(folder))
    if manifest:
        entries, problems = batches.from_manifest(folder, manifest)
    else:
        entries, problems = list(batches.from_folder(folder)), []
    for problem in problems:
        print(f"sohoa batch: {problem}", file=sys.stderr)
    settings = get_settings()
    # The worker starts before the broker and catalog are opened here: its imports and pool come up
    # while this process hands the files in (the catalog's migration is locked, both may run it).
    with worker_while(not settings.broker_url if local_worker is None else local_worker,
                      settings.data_dir / "logs" / "worker.log"):
        supervisor = _supervisor()
        jobs.ensure_job(supervisor.archive.catalog, name, str(folder.resolve()))
        progress = batches.Progress(name, len(entries))
        started = time.monotonic()
        try:
            # Recover before submitting: what an earlier, killed run left in flight is sent again
            # once; recovering after would send every file just submitted a second time.
            supervisor.recover()
            batches.submit_all(supervisor, name, entries)
            counts = batches.wait(supervisor, name, progress)
        finally:
            progress.close()
        # Said before the worker stops: its warm shutdown takes a few seconds the user need not wait for.
        _summary(supervisor, name, counts, time.monotonic() - started, problems, as_json)


def _summary(supervisor, name: str, counts: dict, seconds: float, problems: list[str], as_json: bool) -> None:
    """The batch's report files, and its summary line (or JSON) on stdout."""
    from sohoa.workers import batch as batches

    if counts.get("unindexed"):
        print(f"sohoa batch: {counts['unindexed']} stored records are not searchable yet; a running worker "
              "indexes them (or `sohoa reindex`)", file=sys.stderr)
    report_dir = supervisor.settings.data_dir / "jobs" / name
    csv_path, json_path = batches.write_report(supervisor.archive.catalog, name, report_dir, problems)
    summary = {"job": name, **counts, "seconds": round(seconds, 1),
               "report_csv": str(csv_path), "report_json": str(json_path)}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False), flush=True)
    else:
        print(f"{name}: {counts.get('stored', 0)} stored, {counts.get('duplicate', 0)} duplicate, "
              f"{counts.get('quarantined', 0)} quarantined of {counts['files']} files, "
              f"{counts['pages']} pages in {summary['seconds']} s; report {csv_path}", flush=True)


@click.group("jobs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_group(ctx: click.Context, as_json: bool) -> None:
    """List jobs (batches, the hot folder) with their progress."""
    if ctx.invoked_subcommand is not None:
        return
    from sohoa.workers import jobs

    catalog = open_archive().catalog
    rows = [{"job": j.name, "source": j.source, "created_at": j.created_at.isoformat(),
             **jobs.counts(catalog, j.name)} for j in jobs.jobs(catalog)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        ended = sum(row.get(s, 0) for s in jobs.TERMINAL)
        print(f"{row['job']:40} {ended}/{row['files']} files  {row['pages_done']}/{row['pages']} pages  "
              f"stored {row.get('stored', 0)}  duplicate {row.get('duplicate', 0)}  "
              f"quarantined {row.get('quarantined', 0)}  failed {row.get('failed', 0)}")


@jobs_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def jobs_show(name: str, as_json: bool) -> None:
    """One job: its summary and every file with its status and reason."""
    from sohoa.workers import jobs

    catalog = open_archive().catalog
    job = jobs.job(catalog, name)
    if job is None:
        raise SohoaError(f"no job {name!r} (see `sohoa jobs`)", ExitCode.NOT_FOUND)
    items = jobs.items(catalog, name)
    if as_json:
        print(json.dumps({"job": name, "source": job.source, "summary": jobs.counts(catalog, name),
                          "items": [{"path": i.path, "status": i.status, "record_code": i.record_code,
                                     "pages": i.pages, "attempts": i.attempts, "reason": i.reason}
                                    for i in items]}, ensure_ascii=False, indent=2))
        return
    print(f"{name}: {job.source}")
    for item in items:
        tail = item.record_code or item.reason or ""
        print(f"  {item.status:12} {item.pages or 0:4}p  {item.path}  {tail}")


def _child(args: list[str], log: Path | None) -> subprocess.Popen:
    """A `sohoa` child process; with a log file its output (the Celery banner, access lines) goes there."""
    out = open(log, "ab") if log else None  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen([sys.executable, "-m", "sohoa", *args], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT if out else None)


def _start_block(settings, url: str, logs: Path) -> str:
    """The few lines `sohoa run` starts with: where everything is, and how to make the first admin."""
    from sohoa.web import accounts
    from sohoa.web.config import first_admin_command, sohoa_command

    inbox = (settings.inbox_dir or settings.data_dir / "inbox").resolve()
    lines = ["sohoa is running (Ctrl-C stops it)"]
    if url:
        lines.append(f"  web app        {url}")
    lines += [f"  data folder    {settings.data_dir.resolve()}",
              f"  hot folder     {inbox}/<agency code>/<dossier code>/",
              f"  logs           {logs}/worker.log, web.log",
              f"  sohoa command  {sohoa_command()}"]
    if url and not accounts.list_users(open_archive().catalog):
        lines += ["  no user yet: create the first administrator (asks for a password), then log in:",
                  f"    {first_admin_command()}"]
    return "\n".join(lines)


@click.command()
@click.option("--no-web", is_flag=True, help="Worker and hot folder only, without the web app (`sohoa serve`).")
def run(no_web: bool) -> None:
    """Start the embedded all-in-one system for one office PC: worker + hot folder + web app."""
    from sohoa.core.settings import get_settings
    from sohoa.ocr import tesseract

    settings = get_settings()
    tesseract.check_language(settings.ocr_lang, settings.tessdata_dir)
    beat = ["--beat"] if settings.broker_url else []  # scheduled fixity: beat with Redis, else the hot folder loop
    logs = settings.data_dir.resolve() / "logs"  # the worker's and the web app's own output: not the terminal
    logs.mkdir(parents=True, exist_ok=True)
    children = [_child(["worker", *beat], logs / "worker.log"), _child(["watch", "-v"], None)]
    url = ""
    if not no_web:  # the web app (issue #7): its own process, so a slow page never holds up the pipeline
        from sohoa.web.config import WebConfig

        web = WebConfig.from_env()  # SOHOA_WEB_HOST / SOHOA_WEB_PORT, checked before anything starts
        children.append(_child(["serve"], logs / "web.log"))
        shown = "localhost" if web.host in ("0.0.0.0", "127.0.0.1", "::") else web.host
        url = f"http://{shown}:{web.port}/"
    print(_start_block(settings, url, logs), flush=True)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
        failed = [c for c in children if c.poll() not in (None, 0)]
        if failed:
            raise SohoaError(f"a sohoa process stopped with exit code {failed[0].returncode} (its output: {logs}/)",
                             ExitCode.INTERNAL)
    finally:
        stop_children(children)


COMMANDS = [worker, watch, batch, jobs_group, run]
