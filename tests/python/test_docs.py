"""The docs name every op: each op of the registry has its row in the
README's ops table and its line in docs/architecture.md's list of the ops,
both naming it as `actops.<name>`, and neither names an op the registry
lacks. A new op without its two lines of docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

from actops import registry

ROOT = Path(__file__).resolve().parents[2]


def _section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of its level or above."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE).search(text, start)
    return text[start : following.start() if following else len(text)]


def _named(text: str) -> set:
    return set(re.findall(r"`actops\.([a-z0-9_]+)`", text))


def test_readme_ops_table_has_every_op():
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| op | formula |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    rows = lines[start + 2 : end]
    assert [len(_named(row.split("|")[1])) for row in rows] == [1] * len(rows)
    assert {_named(row.split("|")[1]).pop() for row in rows} == set(registry.names())
    assert len(rows) == len(registry.OPS)


def test_architecture_list_has_every_op():
    text = (ROOT / "docs" / "architecture.md").read_text()
    listed = _section(text, "## The ops")
    lines = [line for line in listed.splitlines() if line.startswith("- `actops.")]
    assert {_named(line.split(":")[0]).pop() for line in lines} == set(registry.names())
    assert len(lines) == len(registry.OPS)
