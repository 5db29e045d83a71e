"""The production deployment files, checked for structure (no Docker engine here, so nothing is built or run).

docker-compose.yml is parsed with YAML and its `${VAR:-default}` values resolved as Compose does
with no .env file; the Dockerfile is parsed into instructions (continuation lines joined, comments
dropped). The environment each container gets is read by the application's own settings classes,
so a misspelt or invalid variable fails here rather than in production.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import run_sohoa
from sohoa.core.settings import Settings
from sohoa.web.config import ENV as WEB_ENV, WebConfig
from sohoa.workers.names import QUEUE_NAMES

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("sohoa", "worker-ocr")  # the services built from the Dockerfile


# ---------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    argument: str  # continuation lines joined with single spaces

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT/CMD/VOLUME (fails on the shell form)."""
        value = json.loads(self.argument)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order; a trailing backslash continues the line, `#` lines are comments."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # Docker drops comment lines, even inside a continuation
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, argument = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(argument.split())))
        pending = ""
    assert not pending, f"Dockerfile ends inside a continued line: {pending!r}"
    return instructions


def shell_commands(run: Instruction) -> list[list[str]]:
    """The simple commands of a shell-form RUN, split on `&&`."""
    return [shlex.split(part) for part in run.argument.split("&&")]


def env_values(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for env in (i for i in instructions if i.keyword == "ENV"):
        values.update(dict(pair.split("=", 1) for pair in shlex.split(env.argument)))
    return values


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_dockerfile_parser_joins_continuations_and_drops_comments():
    parsed = parse_dockerfile("# c\nFROM a:1\nRUN x \\\n  && y \\\n# inside\n  z\nCMD [\"run\"]\n")
    assert parsed == [Instruction("FROM", "a:1"), Instruction("RUN", "x && y z"), Instruction("CMD", '["run"]')]


def test_dockerfile_starts_from_one_python_the_project_supports(dockerfile, project):
    assert dockerfile[0].keyword == "FROM" and [i.keyword for i in dockerfile].count("FROM") == 1
    image, _, tag = dockerfile[0].argument.partition(":")
    match = re.fullmatch(r"(\d+)\.(\d+)-slim-(\w+)", tag)
    assert image == "python" and match, dockerfile[0]
    minimum = tuple(int(v) for v in re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"]).groups())
    assert (int(match[1]), int(match[2])) >= minimum


def test_dockerfile_installs_tesseract_with_the_vietnamese_models_in_one_clean_layer(dockerfile):
    installs = [(run, command) for run in dockerfile if run.keyword == "RUN" for command in shell_commands(run)
                if command[:2] == ["apt-get", "install"]]
    assert len(installs) == 1
    run, command = installs[0]
    packages = {word for word in command[2:] if not word.startswith("-")}
    assert {"tesseract-ocr", "tesseract-ocr-vie", "tesseract-ocr-script-viet"} <= packages
    assert "-y" in command and "--no-install-recommends" in command
    steps = shell_commands(run)
    assert steps[0] == ["apt-get", "update"]  # in the same layer, so the package lists are never stale
    assert steps[-1] == ["rm", "-rf", "/var/lib/apt/lists/*"]


def test_dockerfile_installs_the_project_from_its_copied_source(dockerfile):
    keywords = [i.keyword for i in dockerfile]
    copies = [i for i in dockerfile if i.keyword == "COPY"]
    assert [c.argument for c in copies] == [". ."]
    pip = [(n, command) for n, i in enumerate(dockerfile) if i.keyword == "RUN" for command in shell_commands(i)
           if command[:2] == ["pip", "install"]]
    assert len(pip) == 1
    position, command = pip[0]
    assert command[-1] == "." and "--no-cache-dir" in command
    assert keywords.index("COPY") < position  # the source is there when pip runs
    workdir = [i.argument for i in dockerfile[:keywords.index("COPY")] if i.keyword == "WORKDIR"]
    assert workdir == ["/opt/sohoa"]


def test_dockerfile_runs_the_sohoa_command_with_its_data_on_a_volume(dockerfile, project):
    entrypoint = [i for i in dockerfile if i.keyword == "ENTRYPOINT"]
    cmd = [i for i in dockerfile if i.keyword == "CMD"]
    assert len(entrypoint) == 1 and len(cmd) == 1
    assert entrypoint[0].exec_form() == ["sohoa"] and "sohoa" in project["scripts"]
    assert cmd[0].exec_form() == ["run"]
    env = env_values(dockerfile)
    assert env["SOHOA_DATA_DIR"] == "/data" and env["OMP_THREAD_LIMIT"] == "1"
    volumes = [v for i in dockerfile if i.keyword == "VOLUME" for v in i.exec_form()]
    assert volumes == [env["SOHOA_DATA_DIR"]]


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", "data", ".git"} <= ignored


def test_the_commands_the_images_run_exist():
    assert run_sohoa("run", "--help").returncode == 0
    worker = run_sohoa("worker", "--help")
    assert worker.returncode == 0 and "-Q, --queues" in worker.stdout


# ---------------------------------------------------------------- docker-compose.yml

_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: object) -> object:
    """Compose's substitution with no .env file: `${X:-default}` → default, `${X}` → "", `$$` → `$`."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: "$" if m[0] == "$$" else (m[2] or ""), value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return interpolate(compose["services"])


def test_compose_declares_the_production_services(services):
    assert set(services) == {"minio", "minio-init", "postgres", "redis", "elasticsearch", *APP_SERVICES}
    for name, service in services.items():
        assert ("image" in service) != ("build" in service), name
    for name in APP_SERVICES:
        assert services[name]["build"] == "."  # the Dockerfile above


def test_compose_images_match_what_the_application_speaks(services, project):
    images = {name: s["image"].rsplit(":", 1) for name, s in services.items() if "image" in s}
    assert (images["postgres"][0], images["redis"][0]) == ("postgres", "redis")
    for name in ("postgres", "redis", "elasticsearch"):  # a data server's major version never changes by itself
        assert re.fullmatch(r"\d+(\.\d+)*", images[name][1]), images[name]
    es_image, es_version = images["elasticsearch"]
    assert es_image == "docker.elastic.co/elasticsearch/elasticsearch"
    client = next(d for d in project["dependencies"] if d.startswith("elasticsearch"))
    major = int(es_version.split(".")[0])
    assert f">={major}" in client and f"<{major + 1}" in client  # the client speaks the server's major


def test_app_services_share_one_environment_the_settings_accept(compose, services):
    raw = compose["services"]
    assert raw["sohoa"]["environment"] is raw["worker-ocr"]["environment"]  # one YAML anchor
    env = {k: str(v) for k, v in services["sohoa"]["environment"].items()}
    known = {f"SOHOA_{name.upper()}" for name in Settings.model_fields} | set(WEB_ENV.values())
    assert set(env) <= known, set(env) - known  # a misspelt variable would be silently ignored
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/data")
    assert all((settings.storage_url, settings.database_url, settings.search_url, settings.broker_url))
    web = WebConfig.from_env(env)
    assert web.host == "0.0.0.0" and services["sohoa"]["ports"] == [f"{web.port}:{web.port}"]


def test_app_services_reach_each_server_with_its_credentials(services):
    settings = Settings.from_env({k: str(v) for k, v in services["sohoa"]["environment"].items()})
    storage = urlsplit(settings.storage_url)
    minio = services["minio"]["environment"]
    assert (storage.scheme, storage.hostname, storage.port) == ("s3", "minio", 9000)
    assert (storage.username, storage.password) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    bucket = storage.path.strip("/")

    database = urlsplit(settings.database_url)
    postgres = services["postgres"]["environment"]
    assert database.scheme == "postgresql+psycopg" and (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.path.strip("/")) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])

    search = urlsplit(settings.search_url)
    elastic = services["elasticsearch"]["environment"]
    assert (search.hostname, search.port) == ("elasticsearch", 9200)
    # Plain http without credentials works only with security off (single node on the private network).
    assert search.scheme == "http" and elastic["xpack.security.enabled"] == "false"
    assert elastic["discovery.type"] == "single-node"

    broker = urlsplit(settings.broker_url)
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    assert "--appendonly yes" in services["redis"]["command"]  # queued work survives a broker restart

    # The bucket is made with object lock (possible only at creation) and versioning, before the app starts.
    init = services["minio-init"]
    script = init["entrypoint"]
    assert init["environment"] == minio
    assert f"mc mb --with-lock s/{bucket}" in script and f"mc version enable s/{bucket}" in script


def test_the_image_installs_the_database_driver_the_compose_url_names(services, project):
    settings = Settings.from_env({k: str(v) for k, v in services["sohoa"]["environment"].items()})
    driver = urlsplit(settings.database_url).scheme.split("+")[1]
    assert any(re.match(rf"{driver}\b", d) for d in project["dependencies"])


def test_compose_start_order_waits_for_what_each_service_needs(services):
    conditions = {name: dict(s.get("depends_on", {})) for name, s in services.items()}
    for name, needs in conditions.items():
        for dependency, how in needs.items():
            assert dependency in services, (name, dependency)
            if how["condition"] == "service_healthy":
                assert services[dependency]["healthcheck"]["test"][0] == "CMD", (name, dependency)
    assert conditions["minio-init"] == {"minio": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        assert conditions[name]["minio-init"] == {"condition": "service_completed_successfully"}
        assert conditions[name]["postgres"] == {"condition": "service_healthy"}
        assert conditions[name]["redis"] == {"condition": "service_started"}
    assert conditions["sohoa"]["elasticsearch"] == {"condition": "service_started"}
    user = services["postgres"]["environment"]["POSTGRES_USER"]
    assert services["postgres"]["healthcheck"]["test"] == ["CMD", "pg_isready", "-U", user]


def test_the_scalable_worker_consumes_both_ocr_queues(services):
    command = services["worker-ocr"]["command"]
    queues = command[command.index("-Q") + 1].split(",")
    assert command[0] == "worker" and set(queues) <= set(QUEUE_NAMES)
    assert sorted(queues) == ["ocr", "ocr-bulk"]  # interactive pages and back-file pages
    assert services["sohoa"]["command"] == ["run"]


def test_compose_volumes_are_declared_used_and_keep_each_servers_data(compose, services):
    mounts = {name: dict(v.split(":", 1) for v in s.get("volumes", [])) for name, s in services.items()}
    used = {volume for m in mounts.values() for volume in m}
    assert used == set(compose["volumes"])  # none undeclared, none forgotten
    assert mounts["minio"] == {"minio-data": "/data"} and "/data" in services["minio"]["command"]
    assert mounts["postgres"] == {"postgres-data": "/var/lib/postgresql/data"}
    assert mounts["elasticsearch"] == {"es-data": "/usr/share/elasticsearch/data"}
    assert mounts["redis"] == {"redis-data": "/data"}
    assert mounts["sohoa"] == {"sohoa-data": services["sohoa"]["environment"]["SOHOA_DATA_DIR"]}
