"""The production deployment files, checked for structure (no Docker engine here, so nothing is built or run).

docker-compose.yml is parsed with YAML and its `${VAR:?error}` values resolved as Compose does from
a .env file (random secrets for every variable of deploy/.env.example; a missing one must stop
Compose); deploy/ (Caddyfile, MinIO policy and init scripts) is read as those containers read it;
the Dockerfile is parsed into instructions (continuation lines joined, comments dropped). The environment each container gets is read by the application's own settings classes,
so a misspelt or invalid variable fails here rather than in production.
"""

from __future__ import annotations

import base64
import http.cookiejar
import ipaddress
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import run_sohoa
from sohoa.core.settings import Settings
from sohoa.web.config import ENV as WEB_ENV
from sohoa.web.config import WebConfig
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


def test_dockerfile_runs_as_an_unprivileged_user_owning_the_data_folder(dockerfile):
    keywords = [i.keyword for i in dockerfile]
    users = [i.argument for i in dockerfile if i.keyword == "USER"]
    assert len(users) == 1, users
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) >= 1000 and int(gid) >= 1000  # numeric: runAsNonRoot can check it
    position = keywords.index("USER")
    assert position > max(n for n, i in enumerate(dockerfile) if i.keyword in ("RUN", "COPY"))  # root only to build
    assert position < keywords.index("ENTRYPOINT")
    commands = [c for i in dockerfile if i.keyword == "RUN" for c in shell_commands(i)]
    useradd = next(c for c in commands if c[0] == "useradd")
    groupadd = next(c for c in commands if c[0] == "groupadd")
    assert useradd[useradd.index("--uid") + 1] == uid and useradd[useradd.index("--gid") + 1] == gid
    assert groupadd[groupadd.index("--gid") + 1] == gid and useradd[-1] == groupadd[-1] == "sohoa"
    assert useradd[useradd.index("--shell") + 1] == "/usr/sbin/nologin"
    data = env_values(dockerfile)["SOHOA_DATA_DIR"]
    install = next(c for c in commands if c[:2] == ["install", "-d"])
    assert install[-1] == data  # made before VOLUME: a new named volume takes its owner and mode
    assert (install[install.index("-o") + 1], install[install.index("-g") + 1], install[install.index("-m") + 1]) == (
        uid, gid, "0700")
    assert keywords.index("VOLUME") > next(n for n, i in enumerate(dockerfile) if "useradd" in i.argument)


def test_dockerignore_keeps_the_secrets_file_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert ".env" in ignored  # `COPY . .` would otherwise bake the passwords into a layer
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()


# ---------------------------------------------------------------- docker-compose.yml

# Compose's substitution: `$$`, `${X}`, `${X:-default}`, `${X-default}`, `${X:?error}`, `${X?error}`.
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
_BARE_VARIABLE = re.compile(r"(?<!\$)\$(?!\$|\{)\w")
SECRET_NAME = re.compile(r"[A-Z0-9_]*(PASSWORD|SECRET|_KEY|AUTH|ROOT_USER)[A-Z0-9_]*")
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
BUCKET_ARN = "arn:aws:s3:::"


class MissingVariable(Exception):
    """Compose refuses to start: a `${X:?…}` variable is unset or empty."""


def interpolate(value: object, env: dict[str, str]) -> object:
    """The value as Compose substitutes it from `env` (the .env file)."""
    if isinstance(value, str):
        def one(match: re.Match) -> str:
            if match[0] == "$$":
                return "$"
            name, how, word = match[1], match[2] or "", match[3]
            found = env.get(name)
            unset = found is None or (how.startswith(":") and found == "")  # with `:`, empty is unset too
            if how.endswith("?") and unset:
                raise MissingVariable(name)
            if how.endswith("-") and unset:
                return word
            return found or ""
        return _VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    """A filled .env: every variable of deploy/.env.example, each a different random hex secret
    (names must differ from MinIO's root user, as minio-init demands)."""
    values = {name: secrets.token_hex(16) for name in read_env_file(ENV_EXAMPLE)}
    values.update(SOHOA_DOMAIN="sohoa.ubnd.example.vn", SOHOA_TLS="")
    return values


@pytest.fixture(scope="module")
def services(compose, dotenv) -> dict:
    return interpolate(compose["services"], dotenv)


def app_env(services) -> dict[str, str]:
    return {k: str(v) for k, v in services["sohoa"]["environment"].items()}


def named_mounts(service: dict) -> dict[str, str]:
    """volume name → path in the container (read-only flags dropped); bind mounts left out."""
    mounts = (v.split(":") for v in service.get("volumes", []))
    return {m[0]: m[1] for m in mounts if not m[0].startswith((".", "/"))}


def bind_mounts(service: dict) -> dict[str, str]:
    """path in the container → file on the host, relative to the compose file."""
    mounts = (v.split(":") for v in service.get("volumes", []))
    return {m[1]: m[0] for m in mounts if m[0].startswith((".", "/"))}


def test_the_compose_interpolation_here_follows_compose():
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("$${SET}|${SET}|${UNSET}|${UNSET:-d}|${EMPTY:-d}|${EMPTY-d}", env) == "${SET}|v||d|d|"
    assert interpolate("${SET:?m}|${EMPTY?m}", env) == "v|"
    for refused in ("${UNSET:?set it}", "${EMPTY:?set it}", "${UNSET?set it}"):
        with pytest.raises(MissingVariable):
            interpolate(refused, env)


def test_compose_refuses_to_start_without_each_secret(compose, dotenv):
    required = set(read_env_file(ENV_EXAMPLE)) - {"SOHOA_TLS"}
    for name in sorted(required):
        env = dict(dotenv)
        del env[name]
        with pytest.raises(MissingVariable) as refused:
            interpolate(compose, env)
        assert refused.value.args == (name,)
        env[name] = ""  # an empty line in .env is refused too
        with pytest.raises(MissingVariable):
            interpolate(compose, env)
    # The example file as shipped (every value empty) cannot start anything.
    with pytest.raises(MissingVariable):
        interpolate(compose, read_env_file(ENV_EXAMPLE))


def test_no_secret_has_a_default_or_a_literal_value(compose_text, compose):
    assert not _BARE_VARIABLE.search(compose_text.replace("$$", "")), "use ${VAR}, not $VAR"
    assert "change-me" not in compose_text.lower()
    references = [(m[1], m[2]) for m in _VARIABLE.finditer(json.dumps(compose)) if m[0] != "$$"]
    secret_refs = [(name, how) for name, how in references if SECRET_NAME.fullmatch(name)]
    assert {name for name, _ in secret_refs} == {
        "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_APP_ACCESS_KEY", "MINIO_APP_SECRET_KEY",
        "POSTGRES_PASSWORD", "REDIS_PASSWORD", "ELASTIC_PASSWORD"}
    assert all(how == ":?" for _, how in secret_refs), [r for r in secret_refs if r[1] != ":?"]
    # Every secret-named setting of every container is one `${VAR:?…}` and nothing else.
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.fullmatch(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), (name, key, value)
    # Credentials inside the app's URLs are references too, never literal text.
    for key, value in compose["x-sohoa-env"].items():
        value = str(value)
        if "://" in value and "@" in value:
            userinfo = value.split("://", 1)[1].rsplit("@", 1)[0]
            assert userinfo.endswith("}"), (key, value)  # the password is a `${…:?…}` reference
            assert re.fullmatch(r"[\w.-]*:", _VARIABLE.sub("", userinfo)), (key, value)  # only the user is literal


def test_env_example_lists_every_variable_with_no_value(compose):
    example = read_env_file(ENV_EXAMPLE)
    assert example and all(value == "" for value in example.values()), example  # no real (or sample) secret
    used = {m[1] for m in _VARIABLE.finditer(json.dumps(compose)) if m[0] != "$$"}  # comments left out
    assert used == set(example)  # nothing forgotten, nothing stale


def test_compose_declares_the_production_services(services):
    assert set(services) == {"proxy", "minio", "minio-init", "postgres", "redis", "es-certs", "elasticsearch",
                             *APP_SERVICES}
    for name, service in services.items():
        assert ("image" in service) != ("build" in service), name
    for name in APP_SERVICES:
        assert services[name]["build"] == "."  # the Dockerfile above


def test_only_the_proxy_publishes_ports_and_only_80_and_443(compose, services):
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert published == {"proxy": ["80:80", "443:443"]}
    for name, service in services.items():
        assert service.get("network_mode") in (None, "none"), name  # never the host's network
        assert "expose" not in service or name == "proxy"
    networks = compose["networks"]
    assert networks["backend"]["internal"] is True  # no route to or from outside the host
    assert not (networks["edge"] or {}).get("internal")  # the proxy needs the outside (clients, ACME)
    on = {name: set(s.get("networks", [])) for name, s in services.items()}
    assert on["proxy"] == {"edge"} and on["sohoa"] == {"edge", "backend"}
    for name in ("minio", "minio-init", "postgres", "elasticsearch", "redis", "worker-ocr"):
        assert on[name] == {"backend"}, name
    assert services["es-certs"]["network_mode"] == "none"


def test_compose_images_match_what_the_application_speaks(services, project):
    images = {name: s["image"].rsplit(":", 1) for name, s in services.items() if "image" in s}
    assert (images["postgres"][0], images["redis"][0], images["proxy"][0]) == ("postgres", "redis", "caddy")
    for name in ("postgres", "redis", "elasticsearch", "proxy"):  # a server's major version never changes by itself
        assert re.fullmatch(r"\d+(\.\d+)*", images[name][1]), images[name]
    es_image, es_version = images["elasticsearch"]
    assert es_image == "docker.elastic.co/elasticsearch/elasticsearch"
    assert images["es-certs"] == images["elasticsearch"]  # its certutil makes what that server reads
    client = next(d for d in project["dependencies"] if d.startswith("elasticsearch"))
    major = int(es_version.split(".")[0])
    assert f">={major}" in client and f"<{major + 1}" in client  # the client speaks the server's major


def test_app_services_share_one_environment_the_settings_accept(compose, services):
    raw = compose["services"]
    assert raw["sohoa"]["environment"] is raw["worker-ocr"]["environment"]  # one YAML anchor
    env = app_env(services)
    known = {f"SOHOA_{name.upper()}" for name in Settings.model_fields} | set(WEB_ENV.values())
    assert set(env) <= known, set(env) - known  # a misspelt variable would be silently ignored
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/data")
    assert all((settings.storage_url, settings.database_url, settings.search_url, settings.broker_url))
    web = WebConfig.from_env(env)
    assert web.host == "0.0.0.0" and "ports" not in services["sohoa"]  # reachable through the proxy only
    assert web.secure_cookies is True  # the browser only ever talks https (the proxy)


def test_the_app_uses_its_own_minio_user_never_the_root_one(compose, services, dotenv):
    settings = Settings.from_env(app_env(services))
    storage = urlsplit(settings.storage_url)
    minio = services["minio"]["environment"]
    assert (storage.scheme, storage.hostname, storage.port) == ("s3", "minio", 9000)
    assert storage.username == dotenv["MINIO_APP_ACCESS_KEY"] and storage.password == dotenv["MINIO_APP_SECRET_KEY"]
    assert storage.username != minio["MINIO_ROOT_USER"] and storage.password != minio["MINIO_ROOT_PASSWORD"]
    # MinIO's root credentials reach MinIO and the one-shot init container, nothing else.
    for name, service in compose["services"].items():
        text = json.dumps(service)
        assert ("MINIO_ROOT_" in text) == (name in ("minio", "minio-init")), name
    assert "MINIO_ROOT_" not in json.dumps(compose["x-sohoa-env"])
    init = services["minio-init"]["environment"]
    assert (init["MINIO_APP_ACCESS_KEY"], init["MINIO_APP_SECRET_KEY"]) == (storage.username, storage.password)
    assert (init["MINIO_ROOT_USER"], init["MINIO_ROOT_PASSWORD"]) == (minio["MINIO_ROOT_USER"],
                                                                       minio["MINIO_ROOT_PASSWORD"])


def _init_script(services) -> tuple[str, str, dict]:
    """minio-init's script text, its bucket, and the policy file it loads."""
    init = services["minio-init"]
    assert init["entrypoint"][:1] == ["/bin/sh"]
    files = bind_mounts(init)
    script = (ROOT / files[init["entrypoint"][1]]).read_text()
    bucket = re.search(r"^BUCKET=([\w.-]+)$", script, re.MULTILINE)[1]
    create = re.search(r"mc admin policy create s (\S+) (\S+)", script)
    policy = json.loads((ROOT / files[create[2]]).read_text())
    return script.replace("$BUCKET", bucket), create[1], policy


def test_minio_init_makes_the_locked_bucket_and_a_user_with_the_bucket_policy_only(services):
    settings = Settings.from_env(app_env(services))
    bucket = urlsplit(settings.storage_url).path.strip("/")
    script, policy_name, _ = _init_script(services)
    assert script.startswith("#!/bin/sh") and "set -eu" in script  # a failed step fails the container
    # The bucket is made with object lock (possible only at creation) and versioning, before the app starts.
    assert f'mc mb --with-lock "s/{bucket}"' in script and f'mc version enable "s/{bucket}"' in script
    assert 'mc admin user add s "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY"' in script
    attach = re.findall(r"mc admin policy attach s (\S+) --user (\S+)", script)
    assert attach == [(policy_name, '"$MINIO_APP_ACCESS_KEY"')]
    assert "consoleAdmin" not in script and "readwrite" not in script  # no built-in broad policy
    # The script refuses the root user as the app's user, and short secrets.
    assert re.search(r'if \[ "\$MINIO_APP_ACCESS_KEY" = "\$MINIO_ROOT_USER" \]; then\n.*\n\s*exit 1', script)
    assert '[ "${#MINIO_APP_SECRET_KEY}" -lt 16 ]' in script
    for name in ("MINIO_APP_ACCESS_KEY", "MINIO_APP_SECRET_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        assert name in services["minio-init"]["environment"]


# What each MinIO client call of archive/s3_store.py needs. A new call fails the test below until its
# actions are listed here, and granted by the policy (or made by minio-init instead).
S3_CALL_ACTIONS = {
    "bucket_exists": {"s3:ListBucket"},
    "get_object_lock_config": {"s3:GetBucketObjectLockConfiguration"},
    "get_bucket_versioning": {"s3:GetBucketVersioning"},
    "list_objects": {"s3:ListBucket", "s3:ListBucketVersions"},
    "get_object": {"s3:GetObject", "s3:GetObjectVersion"},
    "stat_object": {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
    "remove_object": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    "_put_object": {"s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold"},
    "_create_multipart_upload": {"s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold"},
    "_upload_part": {"s3:PutObject"},
    "_abort_multipart_upload": {"s3:AbortMultipartUpload"},
    "_execute": {"s3:PutObject"},  # CompleteMultipartUpload with If-None-Match
    "(region lookup)": {"s3:GetBucketLocation"},  # the SDK asks once when the URL names no region
}
MADE_BY_MINIO_INIT = {"make_bucket", "set_bucket_versioning"}  # the app calls them only on a bare bucket
BUCKET_ACTIONS = {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation",
                  "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration"}
NEVER_GRANTED = {"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                 "s3:PutBucketVersioning", "s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention",
                 "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration"}


def test_the_app_policy_is_limited_to_its_bucket_and_covers_what_the_store_calls(services):
    settings = Settings.from_env(app_env(services))
    bucket = urlsplit(settings.storage_url).path.strip("/")
    _, _, policy = _init_script(services)
    assert policy["Version"] == "2012-10-17"
    granted: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement  # no NotAction/NotResource
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert action.startswith("s3:") and "*" not in action, action
            granted.setdefault(action, set()).update(statement["Resource"])
    assert not set(granted) & NEVER_GRANTED
    for action, resources in granted.items():
        expected = {f"{BUCKET_ARN}{bucket}"} if action in BUCKET_ACTIONS else {f"{BUCKET_ARN}{bucket}/*"}
        assert resources == expected, (action, resources)  # this bucket, and bucket actions on the bucket only
    source = (ROOT / "archive" / "s3_store.py").read_text()
    calls = set(re.findall(r"\bclient\.(\w+)\(", source))
    assert calls - MADE_BY_MINIO_INIT <= set(S3_CALL_ACTIONS), calls - MADE_BY_MINIO_INIT - set(S3_CALL_ACTIONS)
    needed = set().union(*S3_CALL_ACTIONS.values())
    assert needed <= set(granted), needed - set(granted)
    assert set(granted) <= needed | {"s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts"}  # no more


def test_the_database_password_comes_from_the_environment(services, dotenv):
    settings = Settings.from_env(app_env(services))
    database = urlsplit(settings.database_url)
    postgres = services["postgres"]["environment"]
    assert database.scheme == "postgresql+psycopg" and (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.path.strip("/")) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
    assert database.password == dotenv["POSTGRES_PASSWORD"]


def test_elasticsearch_runs_with_security_and_tls_and_the_app_verifies_it(services, dotenv):
    settings = Settings.from_env(app_env(services))
    search = urlsplit(settings.search_url)
    elastic = services["elasticsearch"]["environment"]
    assert (search.scheme, search.hostname, search.port) == ("https", "elasticsearch", 9200)
    assert (search.username, search.password) == ("elastic", elastic["ELASTIC_PASSWORD"])
    assert search.password == dotenv["ELASTIC_PASSWORD"]
    assert elastic["discovery.type"] == "single-node"
    assert elastic["xpack.security.enabled"] == "true" and elastic["xpack.security.http.ssl.enabled"] == "true"
    assert elastic["xpack.security.transport.ssl.enabled"] == "true"
    # Its key and certificate are where es-certs wrote them (config/certs is the es-certs volume).
    es_mounts = named_mounts(services["elasticsearch"])
    certs_dir = PurePosixPath(es_mounts["es-certs"])
    assert certs_dir == PurePosixPath("/usr/share/elasticsearch/config/certs")
    assert "es-certs:/usr/share/elasticsearch/config/certs:ro" in services["elasticsearch"]["volumes"]
    script_path = bind_mounts(services["es-certs"])[services["es-certs"]["command"][1]]
    script = (ROOT / script_path).read_text()
    certs_mounts = named_mounts(services["es-certs"])
    assert certs_mounts["es-certs"] == "/certs" and certs_mounts["es-ca"] == "/ca"
    for setting in ("http.ssl.key", "http.ssl.certificate", "http.ssl.certificate_authorities"):
        relative = PurePosixPath(elastic[f"xpack.security.{setting}"]).relative_to("certs")
        assert f"/certs/{relative}" in script, setting  # es-certs writes that very file
    assert "bin/elasticsearch-certutil ca" in script and "bin/elasticsearch-certutil cert" in script
    assert "dns: [elasticsearch" in script  # the name in the app's URL is in the node certificate
    # The CA's private key stays in es-ca-key, mounted nowhere but es-certs.
    assert [n for n, s in services.items() if "es-ca-key" in named_mounts(s)] == ["es-certs"]
    # The app and the workers verify the server with that CA (the public copy, read-only).
    assert settings.search_ca is not None
    for name in APP_SERVICES:
        mount = named_mounts(services[name])["es-ca"]
        assert f"es-ca:{mount}:ro" in services[name]["volumes"]
        assert settings.search_ca == Path(mount) / "ca.crt"
        assert services[name]["depends_on"].get("es-certs", services[name]["depends_on"].get("elasticsearch"))
    assert f"cp /ca-key/ca/ca.crt {certs_mounts['es-ca']}/ca.crt" in script
    assert services["elasticsearch"]["depends_on"] == {"es-certs": {"condition": "service_completed_successfully"}}
    health = services["elasticsearch"]["healthcheck"]["test"]
    assert health[0] == "CMD-SHELL" and "https://localhost:9200" in health[1] and "--cacert" in health[1]
    assert "$ELASTIC_PASSWORD" in health[1]  # the container's own variable ($$ in the file), not a literal


def test_redis_requires_a_password_the_broker_url_carries(services, dotenv):
    settings = Settings.from_env(app_env(services))
    broker = urlsplit(settings.broker_url)
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    command = shlex.split(services["redis"]["command"])
    assert command[0] == "redis-server"
    assert command[command.index("--requirepass") + 1] == broker.password == dotenv["REDIS_PASSWORD"]
    assert command[command.index("--appendonly") + 1] == "yes"  # queued work survives a broker restart
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == broker.password  # the healthcheck logs in


def _caddy_site(text: str) -> tuple[str, list[str]]:
    """The one site block of a Caddyfile whose `{$VAR}` placeholders are already replaced:
    (its address, its lines without comments)."""
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    sites, depth = [], 0
    for line in filter(None, lines):
        if depth == 0 and line.endswith("{") and line != "{":
            sites.append((line[:-1].strip(), []))
        elif depth >= 1 and sites and line != "}":
            sites[-1][1].append(line)
        depth += line.count("{") - line.count("}")
    assert depth == 0 and len(sites) == 1, sites
    return sites[0]


def test_the_proxy_terminates_tls_sets_hsts_and_forwards_to_the_app(services, dotenv):
    proxy = services["proxy"]
    caddyfile = ROOT / bind_mounts(proxy)["/etc/caddy/Caddyfile"]
    text = re.sub(r"\{\$\w+(?::[^}]*)?\}", lambda m: m[0].replace("{", "<").replace("}", ">"), caddyfile.read_text())
    address, lines = _caddy_site(text)
    assert address == "<$SOHOA_DOMAIN>" and proxy["environment"]["SOHOA_DOMAIN"] == dotenv["SOHOA_DOMAIN"]
    assert not address.startswith("http://")  # a bare name: Caddy serves https and redirects port 80
    web = WebConfig.from_env(app_env(services))
    assert f"reverse_proxy sohoa:{web.port}" in lines
    tls = [line.split()[1:] for line in lines if line.split()[0] == "tls"]
    assert tls == [["<$SOHOA_TLS:internal>"]] and proxy["environment"]["SOHOA_TLS"] == "internal"
    hsts = next(line for line in lines if line.startswith("Strict-Transport-Security"))
    max_age = int(re.search(r"max-age=(\d+)", hsts)[1])
    assert max_age >= 31536000 and "includeSubDomains" in hsts
    # The app's own security headers pass unchanged (X-Frame-Options SAMEORIGIN: the record page frames its PDF).
    assert not [line for line in lines if re.match(r"-?(X-Frame-Options|Content-Security-Policy)\b", line)]
    assert services["proxy"]["depends_on"] == {"sohoa": {"condition": "service_started"}}


def test_the_app_believes_x_forwarded_for_from_the_proxy_alone(compose, services):
    web = WebConfig.from_env(app_env(services))
    edge = compose["networks"]["edge"]["ipam"]["config"]
    proxy_address = services["proxy"]["networks"]["edge"]["ipv4_address"]
    assert web.trusted_proxies == proxy_address  # one address, not the network (the host's gateway is on it)
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(edge[0]["subnet"])


def _serve(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "sohoa", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/dang-nhap", timeout=5):
                return server
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"sohoa serve did not answer: {server.communicate(timeout=10)}")
            time.sleep(0.3)


def _failed_login_from(port: int, forwarded_for: str) -> None:
    """A wrong password, as a browser behind a proxy sends it (the proxy adds X-Forwarded-For)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    headers = {"X-Forwarded-For": forwarded_for}
    with opener.open(urllib.request.Request(f"http://127.0.0.1:{port}/dang-nhap", headers=headers)) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())[1]
    form = urllib.parse.urlencode({"username": "quantri", "password": "sai-mat-khau-roi", "csrf_token": token,
                                   "next": "/"}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(urllib.request.Request(f"http://127.0.0.1:{port}/dang-nhap", data=form, headers=headers))
    assert 400 <= refused.value.code < 500


def test_sohoa_serve_takes_the_client_address_from_a_trusted_proxy_only(tmp_path):
    """The audit log (and login throttling) must see the browser behind Caddy, and nobody else may
    choose the address written there by sending the header themselves."""
    seen = {}
    for trusted in ("127.0.0.1", ""):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
        env.update(SOHOA_DATA_DIR=str(tmp_path / f"data-{bool(trusted)}"), SOHOA_OCR_ENGINE="null",
                   SOHOA_WEB_TRUSTED_PROXIES=trusted)
        added = subprocess.run([sys.executable, "-m", "sohoa", "users", "add", "quantri", "--role", "admin",
                                "--password-stdin"], env=env, input="mat-khau-quan-tri-dai-1\n",
                               capture_output=True, text=True, timeout=60, check=False)
        assert added.returncode == 0, added.stderr
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = _serve(env, port)
        try:
            _failed_login_from(port, "203.0.113.7")
        finally:
            server.terminate()
            server.communicate(timeout=30)
        audit = subprocess.run([sys.executable, "-m", "sohoa", "audit", "--json"], env=env,
                               capture_output=True, text=True, timeout=60, check=False)
        seen[trusted] = {entry["client"] for entry in json.loads(audit.stdout) if entry["username"] == "quantri"}
    assert seen == {"127.0.0.1": {"203.0.113.7"}, "": {"127.0.0.1"}}


def test_the_app_with_the_compose_settings_sends_secure_cookies(services, tmp_path):
    from fastapi.testclient import TestClient
    from sohoa.web.app import create_app
    from sohoa.web.security import SESSION_COOKIE
    from web_fixtures import PASSWORD, add_users, login

    web = WebConfig.from_env(app_env(services))
    app = create_app(Settings(data_dir=tmp_path, jobs=1, ocr_engine="null"), web)
    add_users(app.state.sohoa.catalog)
    with TestClient(app, base_url="https://sohoa.ubnd.example.vn") as client:
        form = client.get("/dang-nhap")
        assert "secure" in [p.strip().lower() for p in form.headers["set-cookie"].split(";")]
        response = login(client, "quantri", PASSWORD)
        assert response.status_code == 303, response.text
        cookies = response.headers.get_list("set-cookie")
        session = [c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")]
        assert session, cookies
        flags = [p.strip().lower() for p in session[0].split(";")]
        assert "secure" in flags and "httponly" in flags


def test_the_image_installs_the_database_driver_the_compose_url_names(services, project):
    settings = Settings.from_env(app_env(services))
    driver = urlsplit(settings.database_url).scheme.split("+")[1]
    assert any(re.match(rf"{driver}\b", d) for d in project["dependencies"])


def test_compose_start_order_waits_for_what_each_service_needs(services):
    conditions = {name: dict(s.get("depends_on", {})) for name, s in services.items()}
    for name, needs in conditions.items():
        for dependency, how in needs.items():
            assert dependency in services, (name, dependency)
            if how["condition"] == "service_healthy":
                assert services[dependency]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), (name, dependency)
            if how["condition"] == "service_completed_successfully":
                assert "restart" not in services[dependency], dependency  # a one-shot container
    assert conditions["minio-init"] == {"minio": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        assert conditions[name]["minio-init"] == {"condition": "service_completed_successfully"}
        assert conditions[name]["postgres"] == {"condition": "service_healthy"}
        assert conditions[name]["redis"] == {"condition": "service_healthy"}
    assert conditions["sohoa"]["elasticsearch"] == {"condition": "service_healthy"}
    assert conditions["worker-ocr"]["es-certs"] == {"condition": "service_completed_successfully"}
    user = services["postgres"]["environment"]["POSTGRES_USER"]
    assert services["postgres"]["healthcheck"]["test"] == ["CMD", "pg_isready", "-U", user]


def test_the_scalable_worker_consumes_both_ocr_queues(services):
    command = services["worker-ocr"]["command"]
    queues = command[command.index("-Q") + 1].split(",")
    assert command[0] == "worker" and set(queues) <= set(QUEUE_NAMES)
    assert sorted(queues) == ["ocr", "ocr-bulk"]  # interactive pages and back-file pages
    assert services["sohoa"]["command"] == ["run"]


def test_compose_volumes_are_declared_used_and_keep_each_servers_data(compose, services):
    mounts = {name: named_mounts(s) for name, s in services.items()}
    used = {volume for m in mounts.values() for volume in m}
    assert used == set(compose["volumes"])  # none undeclared, none forgotten
    assert mounts["minio"] == {"minio-data": "/data"} and "/data" in services["minio"]["command"]
    assert mounts["postgres"] == {"postgres-data": "/var/lib/postgresql/data"}
    assert mounts["elasticsearch"]["es-data"] == "/usr/share/elasticsearch/data"
    assert mounts["redis"] == {"redis-data": "/data"}
    assert mounts["sohoa"]["sohoa-data"] == services["sohoa"]["environment"]["SOHOA_DATA_DIR"]
    assert mounts["proxy"] == {"caddy-data": "/data", "caddy-config": "/config"}  # its certificates survive
    for name, service in services.items():  # every file mounted from the repository is there, read-only
        for target, source in bind_mounts(service).items():
            assert (ROOT / source).is_file(), (name, source)
            assert f"{source}:{target}:ro" in service["volumes"], (name, source)


# ---------------------------------------------------------------- the search client over TLS


def _make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1/localhost signed by it (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sohoa test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.crt", folder / "node.crt", folder / "node.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def tls_search_server(tmp_path):
    """An https server answering the two calls `count()` makes as Elasticsearch would; it records
    the Authorization header of each request. Yields (port, CA file, seen headers)."""
    import http.server
    import ssl
    import threading

    ca, cert, key = _make_ca_and_server_cert(tmp_path)
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, body: bytes) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):  # indices.exists
            self._answer(b"{}")

        def do_POST(self):  # _count
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(b'{"count": 7}')

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], ca, seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_search_client_verifies_the_server_with_the_configured_ca(tls_search_server, tmp_path):
    from sohoa.core.errors import ExitCode, SohoaError
    from sohoa.search.backends import open_configured_index

    port, ca, seen = tls_search_server
    url = f"https://elastic:s3cret-pw@127.0.0.1:{port}"
    index = open_configured_index(Settings(data_dir=tmp_path, search_url=url, search_ca=ca))
    try:
        assert index.count() == 7
    finally:
        index.close()
    expected = "Basic " + base64.b64encode(b"elastic:s3cret-pw").decode()
    assert seen and set(seen) == {expected}  # the password travels only inside TLS
    # Without the deployment's CA the server's certificate is not trusted: nothing is sent.
    seen.clear()
    untrusted = open_configured_index(Settings(data_dir=tmp_path, search_url=url))
    with pytest.raises(SohoaError) as refused:
        untrusted.count()
    untrusted.close()
    assert refused.value.exit_code == ExitCode.OUTPUT_ERROR and "s3cret" not in refused.value.message
    assert seen == []
    # A CA file that is not there, or a CA with plain http, is a usage error at start.
    with pytest.raises(SohoaError) as missing:
        open_configured_index(Settings(data_dir=tmp_path, search_url=url, search_ca=tmp_path / "none.crt"))
    assert missing.value.exit_code == ExitCode.USAGE and "SOHOA_SEARCH_CA" in missing.value.message
    with pytest.raises(SohoaError) as plain:
        open_configured_index(Settings(data_dir=tmp_path, search_url=f"http://127.0.0.1:{port}", search_ca=ca))
    assert plain.value.exit_code == ExitCode.USAGE
