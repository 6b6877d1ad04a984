"""The house stays drawn: stages import only earlier stages, and no module imports in a circle.

The order is the flow of ../shared/DESIGN.md: basics, then ingest → stories → editions → email
→ sending, the pipeline that wires them, the scheduler on top of it, then the web app and the
CLI. The imports are read from the source (every `import`, at module top or inside a function),
so a lazy import cannot hide a step back up the flow.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450  # "small modules": about 400 lines, with a little room

# Longest prefix wins. Store modules belong to the stage whose data they keep.
STAGES: dict[str, tuple[int, str]] = {
    "digest": (0, "basics"),
    "digest.core": (0, "basics"),
    "digest.settings": (0, "basics"),
    "digest.migrations": (0, "basics"),
    "digest.store": (0, "basics"),
    "digest.ingest": (1, "ingest"),
    "digest.store.articles": (1, "ingest"),
    "digest.store.sources": (1, "ingest"),
    "digest.stories": (2, "stories"),
    "digest.store.story_edits": (2, "stories"),
    "digest.editions": (3, "editions"),
    "digest.store.editions": (3, "editions"),
    "digest.email": (4, "email"),
    "digest.sending": (5, "sending"),
    "digest.store.deliveries": (5, "sending"),
    "digest.store.delivery_lists": (5, "sending"),
    "digest.store.sendctl": (5, "sending"),
    "digest.pipeline": (6, "pipeline"),
    "digest.schedule": (7, "schedule"),
    "digest.web": (8, "web"),
    "digest.demo": (8, "demo"),
    "digest.cli": (9, "cli"),
}

# Imports against the flow, each with its reason. Keep this short.
ALLOWED = {
    ("digest.settings.editions", "digest.schedule.expressions"): (
        "a schedule the scheduler could not run is refused when the settings are read; the "
        "grammar is written once, in a module that imports nothing of digest"
    ),
}


def module_name(path: Path) -> str:
    """`digest/email/render.py` → `digest.email.render`; a package's `__init__` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    """Every module of `package`, by dotted name."""
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project modules `path` imports (`from pkg import mod` counts as importing `pkg.mod`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            # `import digest.web.models` also imports its parents; the deepest known one counts.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def stage(name: str) -> tuple[int, str]:
    """The stage a module belongs to (its longest matching prefix in STAGES)."""
    best = max((p for p in STAGES if name == p or name.startswith(p + ".")), key=len)
    return STAGES[best]


def graph(package: str) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    mods = modules(package)
    known = set(mods) | set(modules("subscribers"))
    return {name: set(imported(name, path, known)) for name, path in mods.items()}


def test_every_module_has_a_stage() -> None:
    for name in modules("digest"):
        assert stage(name), name


def test_stages_import_only_earlier_stages_and_basics() -> None:
    wrong = []
    for src, targets in graph("digest").items():
        for dst in targets:
            if not dst.startswith("digest") or (src, dst) in ALLOWED:
                continue
            (rank_src, stage_src), (rank_dst, stage_dst) = stage(src), stage(dst)
            if rank_dst > rank_src:
                wrong.append(f"{src} ({stage_src}) imports {dst} ({stage_dst}), a later stage")
    assert not wrong, "data moves one way (see tests/test_layout.py):\n" + "\n".join(wrong)


def test_allowed_exceptions_are_still_needed() -> None:
    edges = graph("digest")
    for src, dst in ALLOWED:
        assert dst in edges.get(src, set()), f"{src} no longer imports {dst}: drop it from ALLOWED"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    edges = graph("digest") | graph("subscribers")
    assert cycles(edges) == []


def test_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_subscribers_does_not_import_digest() -> None:
    for src, targets in graph("subscribers").items():
        assert not [t for t in targets if t.startswith("digest")], src


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for package in ("digest", "subscribers")
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"split these by what they do: {big}"


def test_every_package_says_what_it_takes_and_gives() -> None:
    for init in (ROOT / "digest").rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(ROOT)} needs a docstring saying what the stage does"


def test_readme_layout_table_names_every_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    folders = sorted(
        str(p.parent.relative_to(ROOT))
        for p in (ROOT / "digest").rglob("__init__.py")
        if "migrations" not in p.parts and p.parent != ROOT / "digest"
    )
    missing = [f for f in folders if f"`{f}/`" not in readme]
    assert not missing, f"README's layout table does not describe {missing}"


def test_every_imported_package_is_declared() -> None:
    # `pip install .` without our pins must give a working install: every top-level package
    # our code imports is the standard library's, ours, or named in pyproject.toml.
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0].lower().replace("-", "_") for d in declared}
    # Import names that differ from their distribution's name.
    names |= {"dotenv", "frontmatter", "markdown_it", "argon2", "sklearn", "yaml", "nh3"}
    names |= {"email_validator", "psycopg", "multipart"}
    found = set()
    for package in ("digest", "subscribers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    ours = {"digest", "subscribers", "_typeshed"}
    missing = {m for m in found - ours - sys.stdlib_module_names if m.lower() not in names}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
