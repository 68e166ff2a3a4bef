"""Where sources sit in the layers: the pure parts (parsing, URL hygiene, schedule arithmetic)
touch neither the database nor the network, and nothing in sources reaches up to the API, the
process step or matching. Checked on the imports, as tests/unit/test_layers.py does."""

from __future__ import annotations

import pytest

from tests.unit.test_layers import ROOT, imported_modules

PURE = ("documents", "parsing", "feeds", "sitemaps", "safety", "schedule", "urls")
RULES = [
    *(
        (
            f"service/sources/{name}.py",
            ("service.repositories", "service.db", "service.fetching", "sqlalchemy", "redis"),
        )
        for name in PURE
    ),
    ("service/sources", ("service.api", "service.processing", "service.dedup", "fastapi")),
    ("service/fetching/polite.py", ("service.repositories", "service.sources", "sqlalchemy")),
]


@pytest.mark.parametrize(("path", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_sources_modules_import_only_downward(path: str, forbidden: tuple[str, ...]) -> None:
    target = ROOT / path
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    crossings = [
        f"{file.relative_to(ROOT)} imports {module}"
        for file in files
        for module in sorted(imported_modules(file))
        if any(module == prefix or module.startswith(prefix + ".") for prefix in forbidden)
    ]
    assert crossings == []
