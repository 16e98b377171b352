"""YAML parsing that remembers where everything was written, so errors can say ``grid.yaml:12:9``.

One parse yields both the plain data (``yaml.safe_load`` semantics) and the node tree with positions. The tree also
lets us refuse duplicate keys, which PyYAML would otherwise resolve silently by keeping the last one — a second
``models:`` block quietly replacing the first is exactly the kind of mistake a grid file invites.

Every YAML we read comes from a researcher or a shared folder, so parsing is bounded: the text's size, the nesting
depth and the number of values after expanding aliases are checked on the node tree before anything is built from
it (a 420-byte "billion laughs" file of nested anchors expands to billions of values; PyYAML builds it lazily, but
every later step walks it). Reading is bounded too (:func:`read_bounded`): never more than the limit plus one byte,
and, where nobody is waiting, never from a pipe or a device.
"""

from __future__ import annotations

import datetime
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml
from yaml.events import AliasEvent

from hawk_dagster.config.errors import ConfigIssue, Loc, describe_value, format_path

if TYPE_CHECKING:
    from upath import UPath

MAX_YAML_BYTES = 1 << 20
"""Largest YAML file we read (1 MiB). Our configs are a few KB; a grid listing 10,000 sample ids is about 60 KB.
PyYAML scans in pure Python, about a second per MiB of the worst text, so the limit also bounds the time a parse
can take before the node budget applies."""

MAX_YAML_NODES = 50_000
"""Most values (scalars, lists, mappings; keys count) a document may hold once aliases are expanded. PyYAML's
composer costs about 50 microseconds and half a KB per node on our machines, and every later step (plain JSON,
validation, the run plan) walks the expanded tree, so 50,000 values keeps a parse within a few seconds and tens of
MB; our example configs hold 30 to 90 values, and a list of 10,000 sample ids fits. Anchors may repeat a block;
they may not multiply one."""

MAX_YAML_DEPTH = 64
"""Deepest nesting of lists and mappings, aliases expanded. A grid needs about eight levels
(``tasks[0].items[0].args.config.x``); 64 leaves room in metadata and stays far below Python's recursion limit,
which the composer and the recursive walks after it would otherwise hit (a file of 10,000 ``[``)."""

MAX_NUMBER_LENGTH = 100
"""Longest plain scalar read as a number. Python refuses integers of more than 4,300 digits, and a 1 MiB
sexagesimal integer (``1:00:00:...``, YAML 1.1) takes seconds of big-number arithmetic; no setting needs more."""


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n % (1 << 20) == 0 else f"{n:,} bytes"


@dataclass(frozen=True)
class ParsedYaml:
    """The document's data and its node tree (``None`` for an empty document)."""

    data: Any
    root: yaml.Node | None

    def locate(self, loc: Loc) -> tuple[int, int] | None:
        """1-based (line, column) of the value at ``loc``, or of its nearest written ancestor."""
        node = self.root
        if node is None:
            return None
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found: yaml.Node = value_node
                return found
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None


class YamlSourceError(Exception):
    """A YAML source we cannot use; ``issues`` say where and why."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(issue.format() for issue in issues))


class YamlSyntaxError(YamlSourceError):
    """The text is not YAML we can use: invalid syntax, a key written twice, or beyond the size, depth or value
    limits."""


class YamlReadError(YamlSourceError):
    """The file could not be read as YAML text; ``missing`` when it does not exist (or vanished while read)."""

    def __init__(self, issue: ConfigIssue, *, missing: bool = False) -> None:
        self.missing = missing
        super().__init__([issue])


class UnreadableFileError(Exception):
    """A file :func:`read_bounded` refused: ``found`` says what was there, ``allowed`` what it takes; ``missing``
    when there is no such file, ``transient`` for an I/O error a later read may not meet (unlike a file that is
    too big or not a file)."""

    def __init__(self, found: str, allowed: str, *, missing: bool = False, transient: bool = False) -> None:
        self.found = found
        self.allowed = allowed
        self.missing = missing
        self.transient = transient
        super().__init__(f"{found}; {allowed}")


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (``st_mode`` from ``stat``)."""
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def read_bounded(
    path: Path | UPath,
    *,
    limit: int = MAX_YAML_BYTES,
    regular_only: bool = True,
    follow_symlinks: bool = True,
) -> bytes:
    """At most ``limit`` bytes of a file; raise ``UnreadableFileError`` for a larger one (never reading more than
    ``limit + 1`` bytes) or one that cannot be read.

    ``regular_only`` refuses pipes, devices and sockets without blocking on them (what a sensor must do: nobody
    writes into a FIFO dropped in its folder, and ``/dev/zero`` never ends); the CLI allows them, so
    ``hawk validate <(...)`` works. ``follow_symlinks=False`` refuses a symbolic link itself. Object-store paths
    are read with one ranged request.
    """
    local = local_path_of(path)
    if local is None:
        return _read_remote(cast("UPath", path), limit)
    flags = os.O_RDONLY | os.O_CLOEXEC
    if regular_only:
        flags |= os.O_NONBLOCK  # opening a FIFO for reading blocks until a writer comes; this way it does not
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(local, flags)
    except (FileNotFoundError, NotADirectoryError):  # a folder on the way that is a file: no such file either
        raise UnreadableFileError("a file that does not exist", "an existing file", missing=True) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise UnreadableFileError(
                f"a symbolic link (to {_link_target(local)})",
                "a regular file, not a link to one (copy the file in)",
            ) from None
        if exc.errno == errno.EISDIR:
            raise UnreadableFileError("a directory", "a file, not a directory") from None
        raise UnreadableFileError(
            f"a file that cannot be read ({exc.strerror or exc})", "a readable file", transient=True
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableFileError("a directory", "a file, not a directory")
        if regular_only and not stat.S_ISREG(mode):
            raise UnreadableFileError(file_kind(mode), "a regular file (pipes and devices are not read here)")
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            try:
                chunk = os.read(fd, min(remaining, 1 << 16))
            except OSError as exc:
                raise UnreadableFileError(
                    f"a file that cannot be read ({exc.strerror or exc})", "a readable file", transient=True
                ) from None
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise UnreadableFileError(f"a file of more than {_size(limit)}", f"a file of at most {_size(limit)}")
    return data


def local_path_of(path: Path | UPath) -> str | None:
    """The local path of ``path``, or None for an object store."""
    if isinstance(path, Path):  # a plain path, or a local UPath (a PosixUPath is a Path too)
        return str(path.expanduser())
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(path.fs, LocalFileSystem):
        return str(path.path)
    return None


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "somewhere unreadable"


def _read_remote(path: UPath, limit: int) -> bytes:
    try:
        data = path.fs.cat_file(path.path, start=0, end=limit + 1)
    except FileNotFoundError:
        raise UnreadableFileError("a file that does not exist", "an existing file", missing=True) from None
    except IsADirectoryError:
        raise UnreadableFileError("a directory", "a file, not a directory") from None
    except OSError as exc:
        raise UnreadableFileError(
            f"a file that cannot be read ({exc})", "a readable file", transient=True
        ) from None
    if len(data) > limit:
        raise UnreadableFileError(f"a file of more than {_size(limit)}", f"a file of at most {_size(limit)}")
    return bytes(data)


def decode_yaml_bytes(data: bytes, *, file: str) -> str:
    """The UTF-8 text of a YAML file; ``YamlReadError`` for bytes that are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlReadError(
            ConfigIssue(
                file=file,
                path="",
                found=f"bytes that are not UTF-8 text ({exc.reason} at byte {exc.start})",
                allowed="a YAML file saved as UTF-8",
            )
        ) from None


def read_yaml_file(
    path: Path | UPath,
    *,
    file: str,
    regular_only: bool = True,
    follow_symlinks: bool = True,
) -> str:
    """The text of a YAML file, read within the limits of :func:`read_bounded`; ``YamlReadError`` names the file,
    what was there and what is allowed."""
    try:
        data = read_bounded(path, regular_only=regular_only, follow_symlinks=follow_symlinks)
    except UnreadableFileError as exc:
        issue = ConfigIssue(file=file, path="", found=exc.found, allowed=exc.allowed)
        raise YamlReadError(issue, missing=exc.missing) from None
    return decode_yaml_bytes(data, file=file)


def parse_yaml(text: str, *, file: str) -> ParsedYaml:
    """Parse one YAML document with safe types, within the size, depth and value limits; raise
    ``YamlSyntaxError`` naming the file, line and column."""
    too_big = _text_size_issue(text, file)
    if too_big is not None:
        raise YamlSyntaxError([too_big])
    try:
        loader = _BoundedLoader(text, file)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expanded(root, file)
            issues = _duplicate_key_issues(root, file) if root is not None else []
            if issues:
                raise YamlSyntaxError(issues)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _LimitExceeded as exc:
        raise YamlSyntaxError([exc.issue]) from None
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError([_syntax_issue(exc, text, file)]) from exc
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError([_reader_issue(exc, text, file)]) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(
            [ConfigIssue(file=file, path="", found="text that is not YAML", allowed=f"valid YAML ({exc})")]
        ) from exc
    except RecursionError:  # the limits above should make this unreachable; a traceback would be worse
        raise YamlSyntaxError(
            [
                ConfigIssue(
                    file=file,
                    path="",
                    found="nesting too deep to parse",
                    allowed=f"at most {MAX_YAML_DEPTH} levels of nested lists and mappings",
                )
            ]
        ) from None
    return ParsedYaml(data=data, root=root)


def _text_size_issue(text: str, file: str) -> ConfigIssue | None:
    size = len(text)  # characters: never more than the UTF-8 bytes, so cheap to check first
    if size <= MAX_YAML_BYTES:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size <= MAX_YAML_BYTES:
        return None
    return ConfigIssue(
        file=file,
        path="",
        found=f"more than {_size(MAX_YAML_BYTES)} of text",
        allowed=f"a YAML file of at most {_size(MAX_YAML_BYTES)}",
    )


class _LimitExceeded(Exception):
    def __init__(self, issue: ConfigIssue) -> None:
        self.issue = issue
        super().__init__(issue.format())


_SHOWN_PATH_PARTS = 8


def _limit_issue(file: str, loc: Loc, node: yaml.Node, found: str, allowed: str) -> _LimitExceeded:
    path = format_path(loc[:_SHOWN_PATH_PARTS])
    if len(loc) > _SHOWN_PATH_PARTS:  # sixty-four `[0]` say less than the line and column
        path += "..."
    return _LimitExceeded(
        ConfigIssue(
            file=file,
            path=path,
            found=found,
            allowed=allowed,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )
    )


def _depth_issue(file: str, loc: Loc, node: yaml.Node, how: str) -> _LimitExceeded:
    return _limit_issue(
        file,
        loc,
        node,
        f"lists and mappings nested more than {MAX_YAML_DEPTH} levels deep{how}",
        f"at most {MAX_YAML_DEPTH} levels of nesting",
    )


def _nodes_issue(file: str, loc: Loc, node: yaml.Node, how: str) -> _LimitExceeded:
    return _limit_issue(
        file,
        loc,
        node,
        f"more than {MAX_YAML_NODES:,} values{how}",
        f"at most {MAX_YAML_NODES:,} values (keys, items and scalars, counting each use of an alias in full): "
        "anchors may repeat a block, not multiply one",
    )


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, composing at most ``MAX_YAML_NODES`` nodes at most ``MAX_YAML_DEPTH`` deep.

    The composer recurses once per level (three frames), so the depth has to be stopped while composing, and
    stopping at the node budget keeps a long flat file from building half a million nodes first.
    """

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self._file = file
        self._depth = 0
        self._composed = 0
        self._loc: list[str | int] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(AliasEvent):
            return super().compose_node(parent, index)
        part = _loc_part(parent, index)
        if part is not None:
            self._loc.append(part)
        try:
            self._depth += 1
            self._composed += 1
            if self._depth > MAX_YAML_DEPTH or self._composed > MAX_YAML_NODES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                where = yaml.ScalarNode("tag:yaml.org,2002:null", "", mark, mark)
                if self._depth > MAX_YAML_DEPTH:
                    raise _depth_issue(self._file, tuple(self._loc), where, "")
                raise _nodes_issue(self._file, tuple(self._loc), where, " written out")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if part is not None:
                self._loc.pop()


def _loc_part(parent: yaml.Node | None, index: Any) -> str | int | None:
    """The path part of a node being composed: its key (a mapping value) or position (a list item)."""
    if isinstance(parent, yaml.SequenceNode) and isinstance(index, int):
        return index
    if isinstance(parent, yaml.MappingNode) and isinstance(index, yaml.ScalarNode):
        return str(index.value)
    return None


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


def _check_expanded(root: yaml.Node, file: str) -> None:
    """Refuse a tree that aliases make too big, too deep or circular, or that holds an absurdly long number.

    Each node is visited once (sizes and heights are memoised by node), so the check costs no more than the
    nodes written, however much the aliases would expand to.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    open_nodes: set[int] = set()

    def visit(node: yaml.Node, loc: Loc, depth: int) -> None:
        key = id(node)
        if key in open_nodes:
            raise _limit_issue(
                file,
                loc,
                node,
                "an alias inside the very value its anchor names (a value that contains itself)",
                "aliases to values written before them, not to a value they are part of",
            )
        if key in sizes:  # an alias to a value already measured
            if depth - 1 + heights[key] > MAX_YAML_DEPTH:
                raise _depth_issue(file, loc, node, " once aliases are expanded")
            return
        if depth > MAX_YAML_DEPTH:
            raise _depth_issue(file, loc, node, " once aliases are expanded")
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag in _NUMBER_TAGS
            and len(node.value) > MAX_NUMBER_LENGTH
        ):
            raise _limit_issue(
                file,
                loc,
                node,
                f"a number {len(node.value):,} characters long",
                f"numbers of at most {MAX_NUMBER_LENGTH} characters; quote it to keep it as text",
            )
        open_nodes.add(key)
        size = height = 1
        for child_loc, child in _children(node, loc):
            visit(child, child_loc, depth + 1)
            size += sizes[id(child)]
            height = max(height, heights[id(child)] + 1)
            if size > MAX_YAML_NODES:
                raise _nodes_issue(file, child_loc, child, " once aliases are expanded")
        open_nodes.discard(key)
        sizes[key] = size
        heights[key] = height

    visit(root, (), 1)


def _children(node: yaml.Node, loc: Loc) -> Iterator[tuple[Loc, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield loc, key_node
            part = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            yield (*loc, part), value_node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield (*loc, index), item


def _reader_issue(exc: yaml.reader.ReaderError, text: str, file: str) -> ConfigIssue:
    """A character YAML does not allow (a NUL byte, a control character: usually a binary file), located."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    character = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return ConfigIssue(
        file=file,
        path="",
        found=f"the control character U+{character:04X}",
        allowed="YAML text, which may not contain NUL bytes or other control characters (is this a binary file?)",
        line=line,
        column=column,
    )


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, file: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    if exc.problem == "but found another document" and exc.problem_mark is not None:
        return ConfigIssue(
            file=file,
            path="",
            found="a second YAML document (after a `---` line)",
            allowed="one YAML document per file: remove the `---` line and what follows, or split the file in two",
            line=exc.problem_mark.line + 1,
            column=exc.problem_mark.column + 1,
        )
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context}"
        if (
            exc.context_mark is not None
            and exc.problem_mark is not None
            and exc.context_mark != exc.problem_mark
        ):
            problem += f" at line {exc.context_mark.line + 1}"
        problem += ")"
    found = "the end of the file"
    line = column = None
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
        lines = text.splitlines()
        if mark.line < len(lines):
            found = describe_value(lines[mark.line].strip())
    hint = ""
    if "\t" in text and "tab" not in problem.lower() and found != "the end of the file":
        hint = "; note that YAML does not allow tabs for indentation"
    return ConfigIssue(
        file=file,
        path="",
        found=found,
        allowed=f"valid YAML: {problem}{hint}",
        line=line,
        column=column,
    )


def _duplicate_key_issues(root: yaml.Node, file: str) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen_nodes: set[int] = set()

    def walk(node: yaml.Node, loc: tuple[str | int, ...]) -> None:
        if id(node) in seen_nodes:  # aliases point at the same node; check it once
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = key_node.value
                if key == "<<":
                    continue
                if key in first_line:
                    issues.append(
                        ConfigIssue(
                            file=file,
                            path=format_path((*loc, key)),
                            found=f"{describe_value(key)} written twice (first at line {first_line[key]})",
                            allowed="each key may appear once in a mapping; YAML would silently keep only the last",
                            line=key_node.start_mark.line + 1,
                            column=key_node.start_mark.column + 1,
                        )
                    )
                else:
                    first_line[key] = key_node.start_mark.line + 1
                walk(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))

    walk(root, ())
    return issues


def to_plain_json(value: Any) -> tuple[Any, list[tuple[Loc, str]]]:
    """Turn YAML-only types into JSON ones: dates become ISO strings; binary and odd keys are reported.

    The plan that reaches the runner holds plain JSON, and a date in ``metadata`` should arrive as the text the
    researcher wrote rather than fail later.
    """
    problems: list[tuple[Loc, str]] = []

    def convert(item: Any, where: tuple[str | int, ...]) -> Any:
        if isinstance(item, dict):
            out: dict[Any, Any] = {}
            for key, sub in item.items():
                if isinstance(key, (datetime.date, datetime.datetime)):
                    key = key.isoformat()
                elif key is None or isinstance(key, (list, tuple, dict)):
                    problems.append(
                        (where, f"a mapping key must be a plain word; found {describe_value(key)}")
                    )
                    continue
                out[key] = convert(sub, (*where, key if isinstance(key, (str, int)) else str(key)))
            return out
        if isinstance(item, list):
            return [convert(sub, (*where, index)) for index, sub in enumerate(item)]
        if isinstance(item, (datetime.date, datetime.datetime)):
            return item.isoformat()
        if isinstance(item, bytes):
            problems.append((where, "binary (!!binary) values are not supported; write the value as text"))
            return None
        return item

    return convert(value, ()), problems
