"""Built-in models: the YAML files under the repository's models/ folder.

They ship inside the installed package as ``tokensim.builtin_models`` (see
pyproject.toml), so `load_model("spa_behind_proxy")` works from any folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tokensim.errors import InputError, did_you_mean


def models_dir() -> Path:
    """The folder holding the built-in model files."""
    return Path(str(resources.files("tokensim.builtin_models")))


def builtin_models() -> dict[str, Path]:
    """Built-in model names (file stems, incidents as `incidents/name`) and their files."""
    root = models_dir()
    found = {}
    for path in sorted(root.rglob("*.yaml")):
        found[path.relative_to(root).with_suffix("").as_posix()] = path
    return found


def resolve_model_path(spec: str | Path) -> Path:
    """A model file from a path or a built-in name (`spa_behind_proxy` or `spa-behind-proxy`)."""
    path = Path(spec)
    if path.exists() or path.suffix.lower() in (".yaml", ".yml", ".json"):
        return path
    known = builtin_models()
    key = str(spec).replace("-", "_")
    if key in known:
        return known[key]
    hint = did_you_mean(key, known)
    raise InputError.single(str(spec), "", f"no such file or built-in model{hint}; built-in models: {', '.join(known)}")
