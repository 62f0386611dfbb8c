"""The shipped templates (no Django: `tousu process list|show|validate` run without a database)."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "templates"


def template_path(name: str) -> Path:
    return TEMPLATES_DIR / f"{name}.yaml"


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))
