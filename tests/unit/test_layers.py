"""The layers the README describes, checked on the imports themselves: data flows one way, and
no module reaches back up the chain (api/cli -> ingest -> workers -> processing -> fetching,
extraction, dedup -> repositories -> models, db, settings)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at top level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules_under(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


# (files under this path, module prefixes they must not import, why)
RULES = [
    ("service", ("ops", "workers", "celery", "kombu"), "the domain knows nothing of Celery or ops"),
    ("workers", ("ops",), "workers run the domain; operations drive them from outside"),
    ("service/settings.py", ("service.",), "settings are the bottom layer"),
    ("service/models.py", ("service.",), "models are the bottom layer"),
    (
        "service/db.py",
        ("service.models", "service.repositories", "service.dedup"),
        "db is plumbing",
    ),
    (
        "service/repositories",
        (
            "service.dedup",
            "service.extraction",
            "service.fetching",
            "service.ingest",
            "service.processing",
            "service.stories",
            "service.api",
        ),
        "repositories hold SQL only, below the domain",
    ),
    (
        "service/dedup",
        ("service.processing", "service.ingest", "service.api", "service.stories", "fastapi"),
        "matching never reaches up to its callers",
    ),
    (
        "service/extraction",
        ("service.repositories", "service.dedup", "service.processing", "service.api"),
        "extraction is pure: text in, text out",
    ),
    (
        "service/fetching",
        ("service.repositories", "service.dedup", "service.processing", "service.api"),
        "fetching is the safe client, nothing more",
    ),
    (
        "service/ingest",
        ("service.processing", "service.api", "service.dedup", "fastapi"),
        "accepting work does not process it",
    ),
    ("service/stories", ("service.processing", "service.api", "fastapi"), "the read side"),
]


def _files(path: str) -> list[Path]:
    target = ROOT / path
    return [target] if target.is_file() else modules_under(path)


@pytest.mark.parametrize(("path", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_no_module_reaches_across_its_layer(
    path: str, forbidden: tuple[str, ...], why: str
) -> None:
    crossings = [
        f"{file.relative_to(ROOT)} imports {module}"
        for file in _files(path)
        for module in sorted(imported_modules(file))
        if any(module == prefix or module.startswith(prefix + ".") for prefix in forbidden)
    ]
    assert crossings == [], why


def test_sql_lives_only_in_repositories_and_migrations() -> None:
    """Raw SQL text (sqlalchemy.text) is written only in repositories and db plumbing."""
    allowed = {ROOT / "service" / "db.py"}
    offenders = [
        str(file.relative_to(ROOT))
        for file in modules_under("service")
        if "repositories" not in file.parts
        and file not in allowed
        and "sqlalchemy.text" in imported_modules(file)
    ]
    assert offenders == []
