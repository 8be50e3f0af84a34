"""Write a recorder config file from {section: {key: value}}: for the demo, the harness and tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def toml_value(value: object) -> str:
    """A TOML literal for a bool, a number or a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: Mapping[str, Mapping[str, object]]) -> Path:
    """Write the sections as TOML tables to `path` and return it."""
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path
