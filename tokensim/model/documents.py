"""Reading YAML and JSON files safely and within bounds.

Files are parsed with a safe loader only: a YAML tag that would build a Python
object is rejected with a message, never run. Duplicate keys are rejected too,
because a silently ignored duplicate is a wrong simulation.

Every file is bounded as it is read, so a hostile file costs a message, not the
machine: its size (`MAX_BYTES`), its nesting (`MAX_DEPTH`) and the number of values
it expands to (`MAX_NODES`, each YAML alias counting every value it repeats: a
1 KB "billion laughs" file of nested aliases is refused at its first alias over
the budget, before anything is built). Only regular files are read: a FIFO or a
device would block or never end.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from tokensim.display import quote
from tokensim.errors import InputError

#: Largest input file, in bytes (assumption: the largest built-in file is 9 KB; 1 MiB is over 100 times that,
#: room for a generated model of thousands of nodes).
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and lists (assumption: built-in files nest at most 7 levels; 32 is four times that).
MAX_DEPTH = 32
#: Most values (mapping keys, values, list items) a file may expand to, aliases expanded (assumption: built-in
#: files hold at most 215; 100,000 is 400 times that and still validates in well under a second).
MAX_NODES = 100_000


class _TooDeep(yaml.YAMLError):
    """Nesting beyond `MAX_DEPTH` (reported like Python's own recursion limit: no field path)."""


class _Extent(NamedTuple):
    """An anchored value once its aliases are expanded: how many values, how many levels deep."""

    values: int
    levels: int


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and bounds nesting and alias expansion.

    The bounds are checked while the document is composed (before any Python object
    is built) on the document as if every alias were expanded: each new node counts
    one value, each alias the values of the subtree it repeats; and an alias reaches
    as deep as that subtree does from where the alias stands.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded = 0  # values of the expanded document so far
        self._aliases = 0  # alias uses so far, to say what made a document too big
        self._depth = 0  # level of the node being composed
        self._deepest = 0  # deepest level the expanded node being composed reaches so far
        self._extents: dict[int, _Extent] = {}  # id of an anchored node -> its expanded extent

    def _count(self, values: int, mark: yaml.Mark | None) -> None:
        self._expanded += values
        if self._expanded > MAX_NODES:
            what = (
                f"too many aliases: the document expands to more than {MAX_NODES:,} values (each alias counts the values it repeats)"
                if self._aliases
                else f"the document holds more than {MAX_NODES:,} values"
            )
            raise yaml.composer.ComposerError(None, None, what, mark)

    def _reach(self, level: int, mark: yaml.Mark) -> None:
        if level > MAX_DEPTH:
            raise _TooDeep(f"at line {mark.line + 1}, column {mark.column + 1}")
        self._deepest = max(self._deepest, level)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node as PyYAML does, counting it (an alias: its whole subtree) against the bounds."""
        event = self.peek_event()  # type: ignore[no-untyped-call]  # the stubs leave it untyped
        if self.check_event(yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an unknown anchor is PyYAML's own error, below
                extent = self._extents.get(id(target))
                if extent is None:
                    raise yaml.composer.ComposerError(
                        None, None, f"alias *{event.anchor} refers to a value that contains it", event.start_mark
                    )
                self._aliases += 1
                self._reach(self._depth + extent.levels, event.start_mark)
                self._count(extent.values, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        outer, self._deepest = self._deepest, 0
        self._reach(self._depth, event.start_mark)
        start = self._expanded
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._extents[id(node)] = _Extent(self._expanded - start, self._deepest - self._depth + 1)
        self._depth -= 1
        self._deepest = max(outer, self._deepest)
        return node


def _mapping_without_duplicates(
    loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Hashable, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` is flattened by construct_mapping
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: let the constructor report it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {quote(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


class _DuplicateJSONKey(ValueError):
    pass


def _json_object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateJSONKey(key)
        out[key] = value
    return out


def _json_bounds(data: Any) -> str | None:
    """What makes parsed JSON too deep or too big (the bounds of YAML files), or None."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            return f"the document holds more than {MAX_NODES:,} values"
        if depth > MAX_DEPTH:
            return f"nested too deeply (more than {MAX_DEPTH} levels)"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for pair in value.items() for v in pair)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def _parse_json(text: str, source: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_json_object_without_duplicates)
    except json.JSONDecodeError as err:
        raise InputError.single(source, f"line {err.lineno}", f"JSON syntax error: {err.msg}") from None
    except _DuplicateJSONKey as err:
        raise InputError.single(source, "", f"JSON error: duplicate key {quote(err.args[0])}") from None
    except RecursionError:
        raise InputError.single(source, "", f"JSON error: nested too deeply (more than {MAX_DEPTH} levels)") from None
    problem = _json_bounds(data)
    if problem is not None:
        raise InputError.single(source, "", f"JSON error: {problem}")
    return data


def _too_large(source: str) -> InputError:
    return InputError.single(source, "", f"is larger than {MAX_BYTES:,} bytes; tokensim's input files are a few KB")


def parse_text(text: str, source: str, *, json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON within the bounds; raise `InputError` on any problem."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _too_large(source)
    if not text.strip():
        raise InputError.single(source, "", "the file is empty; expected a mapping of fields")
    if json_only:
        return _parse_json(text, source)
    return _loaded(lambda: yaml.load(text, Loader=_StrictSafeLoader), source)


def _loaded(load: Callable[[], Any], source: str) -> Any:
    """Run a YAML load; turn any YAML problem into one `InputError` naming the line and column."""
    try:
        return load()
    except (RecursionError, _TooDeep) as err:
        where = f" {err}" if isinstance(err, _TooDeep) else ""
        raise InputError.single(
            source, "", f"YAML error: nested too deeply (more than {MAX_DEPTH} levels){where}"
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = err.problem or err.context or "cannot be parsed"
        if "could not determine a constructor" in str(err):
            what = f"{what}: tags that build objects are not allowed in data files"
        raise InputError.single(source, where, f"YAML error: {what}") from None
    except yaml.YAMLError as err:
        raise InputError.single(source, "", f"YAML error: {err}") from None


def parse_all(text: str, source: str) -> list[Any]:
    """Parse every document of a YAML stream (``---`` between them: Kubernetes manifests) within the bounds.

    The bounds hold for the whole stream; empty documents are dropped.
    """
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _too_large(source)
    if not text.strip():
        raise InputError.single(source, "", "the file is empty; expected YAML documents")
    documents = _loaded(lambda: list(yaml.load_all(text, Loader=_StrictSafeLoader)), source)
    return [doc for doc in documents if doc is not None]


def _not_regular(mode: int, expected: str = "a file") -> str | None:
    """Why a file of this mode cannot be read as an input file, or None for a regular file."""
    if stat.S_ISDIR(mode):
        return f"is a folder, expected {expected}"
    if not stat.S_ISREG(mode):
        return f"is not a regular file (a FIFO, device or socket); expected {expected}"
    return None


def require_regular_file(path: str | Path) -> None:
    """Refuse, before it is opened, an input that is not a regular file: a FIFO's open would block forever.

    For files read by other libraries (pandas, pyarrow); `read_text` checks the file it opens itself.
    """
    try:
        problem = _not_regular(os.stat(path).st_mode)
    except OSError:  # absent or unreachable: the reader says which
        return
    if problem is not None:
        raise InputError.single(str(path), "", problem)


def read_text(path: str | Path) -> tuple[str, str]:
    """The text of a regular UTF-8 file of at most `MAX_BYTES`, and the label for messages.

    The file is opened without blocking and checked before it is read: a folder, a
    FIFO (whose open would wait for a writer forever) or a device is refused.
    """
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError.single(source, "", "no such file") from None
    except IsADirectoryError:  # Windows cannot open a folder at all
        raise InputError.single(source, "", "is a folder, expected a YAML or JSON file") from None
    except OSError as err:
        raise InputError.single(source, "", f"cannot be read: {err.strerror or err}") from None
    try:
        info = os.fstat(fd)
        problem = _not_regular(info.st_mode, "a YAML or JSON file")
        if problem is not None:
            raise InputError.single(source, "", problem)
        if info.st_size > MAX_BYTES:
            raise _too_large(source)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_BYTES + 1)  # a file growing while read is bounded too
    except OSError as err:
        raise InputError.single(source, "", f"cannot be read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise _too_large(source)
    try:
        return raw.decode("utf-8"), source
    except UnicodeDecodeError:
        raise InputError.single(source, "", "is not UTF-8 text") from None


def read_document(path: str | Path) -> tuple[Any, str]:
    """Read and parse a YAML or JSON file; return the data and the label for messages."""
    text, source = read_text(path)
    data = parse_text(text, source, json_only=Path(path).suffix.lower() == ".json")
    return data, source
