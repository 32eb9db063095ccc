"""One history shard (``history/*.jsonl``) as an Arrow table, or the exact reason it is not one.

Accepted, and read as the same events as the canonical form (one compact JSON object
per line, ``\\n`` endings) — what real JSONL writers and editors produce:

- blank or whitespace-only lines anywhere, CRLF line endings, trailing whitespace;
- a UTF-8 byte-order mark at the start of the shard;
- keys in any order; unknown extra keys are *ignored* (the frame has fixed columns,
  :data:`SCHEMA`; they stay in the shard for whoever else reads it);
- an empty shard;
- a last line without its newline when it is a complete JSON object. A last line that
  is *not* complete is what a writer killed mid-write leaves (DESIGN.md section 4: a
  killed process loses at most its last line): it is dropped with a warning.

Rejected with :class:`MalformedEventError` naming ``file:line`` and the field:
bytes that are not UTF-8; a line that is not JSON or not an object (a torn line that
is not the last one included); a top-level key given twice; a required field
(``process``, ``type``, ``f``, ``time_ns``) missing or null; an unknown ``type`` or
``f``; a field of the wrong JSON type (``time_ns`` of ``1.5`` or ``"soon"``, a
``task_id`` of ``7``, a ``status`` of ``true``); a value out of range (``time_ns``
negative or beyond int64, ``status`` outside 0..999, ``expires_at`` negative).

The fast path is pyarrow's threaded JSON reader with an explicit schema, then
vectorised checks. Only when it rejects a shard does :func:`find_bad_line` walk the
lines one by one to name the first bad one; it raises only :class:`HistoryError`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from harness.errors import HistoryError, MalformedEventError
from harness.events import EventType, Op

logger = logging.getLogger(__name__)

TYPES = tuple(str(t) for t in EventType)
OPS = tuple(str(f) for f in Op)
REQUIRED = ("process", "type", "f", "time_ns")
BOM = b"\xef\xbb\xbf"
STATUS_RANGE = (0, 999)  # HTTP statuses, and 0 for "no answer" (as Locust records it)

_STRINGS = ("process", "type", "f", "task_id", "token", "worker_id", "error", "request_id")
SCHEMA = pa.schema(
    [(name, pa.string()) for name in _STRINGS[:3]]
    + [("time_ns", pa.int64())]
    + [(name, pa.string()) for name in _STRINGS[3:6]]
    + [("expires_at", pa.float64()), ("status", pa.int64())]
    + [(name, pa.string()) for name in _STRINGS[6:]]
)
# The ops whose `value` the analysis reads (retry, fault windows); other values are dropped.
VALUE_OPS = ("fail", "nemesis", "crash", "rescue")

_FIELD_TYPES: dict[str, tuple[type, ...]] = dict.fromkeys(_STRINGS, (str,)) | {
    "time_ns": (int,),
    "expires_at": (int, float),
    "status": (int,),
}

_PARSE = pajson.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
_READ = pajson.ReadOptions(use_threads=True, block_size=1 << 20)


def read_shard(path: Path, number: int = 0) -> pa.Table:
    """One shard as an Arrow table with ``value``, ``shard`` (``number``) and ``line``."""
    try:
        data = path.read_bytes()
    except OSError as exc:  # a folder named *.jsonl, no permission, ...
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if data.startswith(BOM):
        data = data[len(BOM) :]
    return _read_block(path, _drop_torn_tail(path, data), number, 1)


def read_shard_blocks(
    path: Path, number: int, block_bytes: int, on_bytes: Callable[[int], None] | None = None
) -> Iterator[pa.Table]:
    """The shard as tables of whole lines, about ``block_bytes`` of JSONL each, in order.

    The same acceptance, checks and ``file:line`` messages as :func:`read_shard` (a
    torn last line is the file's last, not a block's), in memory bounded by the block.
    ``on_bytes`` is told the size of each block read (for a progress bar).
    """
    tell = on_bytes or (lambda size: None)
    try:
        with path.open("rb") as shard:
            rest, first_line = b"", 1
            head = shard.read(len(BOM))
            if head != BOM:
                rest = head
            while True:
                chunk = shard.read(block_bytes)
                data = rest + chunk
                if not chunk:
                    if data:
                        tell(len(data))
                    tail = _drop_torn_tail(path, data, first_line)
                    yield _read_block(path, tail, number, first_line)
                    return
                cut = data.rfind(b"\n") + 1
                block, rest = data[:cut], data[cut:]
                if block:
                    tell(len(block))
                    yield _read_block(path, block, number, first_line)
                    first_line += block.count(b"\n")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _read_block(path: Path, data: bytes, number: int, first_line: int) -> pa.Table:
    """Whole lines of a shard (``data`` ends with a newline), the first numbered ``first_line``."""
    _check_utf8(path, data, first_line)
    if not data or data.isspace():  # (not strip(): no copy of the block)
        return table_from_rows([], number, [])
    newlines = data.count(b"\n")
    # Every line an object starting at its first byte (the common case): rows are lines.
    # Else the slower path numbers the lines: pyarrow skips blank ones (rows are no longer
    # lines), and crashes on some top-level non-objects (`null` at the start of a block:
    # a segfault in pyarrow 26).
    regular = data.startswith(b"{") and data.count(b"\n{") == newlines - 1
    lines = None if regular else _object_lines(path, data, first_line)
    try:
        table = pajson.read_json(pa.BufferReader(data), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        find_bad_line(path, data, first_line)
        raise HistoryError(f"{path}: unreadable: {_one_line(exc)}") from exc
    if table.num_rows != (newlines if lines is None else len(lines)):
        find_bad_line(path, data, first_line)  # e.g. two objects on one line
        raise HistoryError(f"{path}: unreadable: not one JSON object per line")
    if lines is None:
        lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
    table = validate_table(str(path), table, lines)
    values = _values_column(data, table, lines - (first_line - 1))
    return _with_extras(table, number, lines, values)


def _object_lines(path: Path, data: bytes, first_line: int = 1) -> np.ndarray:
    """The numbers of the non-blank lines; raises for one that is not a JSON object."""
    numbers = []
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        text = raw.strip()
        if not text:
            continue
        if not text.startswith(b"{"):
            parse_line(str(path), number, raw)  # raises: not JSON, or not an object
            raise MalformedEventError(str(path), number, "expected a JSON object")
        numbers.append(number)
    return np.asarray(numbers, dtype=np.int64)


def _drop_torn_tail(path: Path, data: bytes, first_line: int = 1) -> bytes:
    """A shard whose writer was killed may end in a partial line: warn and drop it."""
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    if not tail.strip():
        return data
    try:
        complete = isinstance(orjson.loads(tail), dict)
    except orjson.JSONDecodeError:
        complete = False
    if complete:
        return data + b"\n"
    line = first_line + data.count(b"\n")
    logger.warning("%s:%d: truncated last line dropped (writer killed mid-write?)", path, line)
    return data[:cut]


def _check_utf8(path: Path, data: bytes, first_line: int = 1) -> None:
    if data.isascii():  # the common case, and much faster than decoding
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        bad = data[exc.start : exc.start + 1].hex()
        raise MalformedEventError(
            str(path), line, f"not UTF-8 (byte 0x{bad} at column {column})"
        ) from None


def validate_table(path: str, table: pa.Table, lines: np.ndarray) -> pa.Table:
    """The table encoded (:func:`encoded`) once required fields are present, the
    vocabularies known and values in range; else raises for the first bad line."""
    for name in REQUIRED:
        _first_bad(path, lines, table, name, pc.is_valid(table.column(name)), "missing field {f}")
    coded = encoded(table)
    for name, allowed in (("type", TYPES), ("f", OPS)):
        known = pc.is_valid(coded.column(name))
        _first_bad(path, lines, table, name, known, f"unknown {name} {{v}} (one of {allowed})")
    time_ok = pc.greater_equal(table.column("time_ns"), 0)
    _first_bad(path, lines, table, "time_ns", time_ok, "field {f} out of range: {v}")
    status = table.column("status")
    low, high = STATUS_RANGE
    in_range = pc.and_(pc.greater_equal(status, low), pc.less_equal(status, high))
    problem = f"field {{f}} outside {low}..{high}: {{v}}"
    _first_bad(path, lines, table, "status", pc.fill_null(in_range, True), problem)
    expires_ok = pc.fill_null(pc.greater_equal(table.column("expires_at"), 0.0), True)
    _first_bad(path, lines, table, "expires_at", expires_ok, "field {f} out of range: {v}")
    return coded


def encoded(table: pa.Table) -> pa.Table:
    """Repeated strings as dictionaries: ``type`` and ``f`` as int8 codes of the fixed
    vocabularies (null: unknown), ids dictionary-encoded here, per shard, so the shards'
    threads share the work; :func:`harness.history.build_frame` unifies them."""
    for name in ("type", "f", "process", "task_id", "worker_id"):
        column = table.column(name).combine_chunks()
        if name in ("type", "f"):
            vocabulary = pa.array(TYPES if name == "type" else OPS)
            indices = pc.index_in(column, value_set=vocabulary).cast(pa.int8())
            column = pa.DictionaryArray.from_arrays(indices, vocabulary)
        else:
            column = column.dictionary_encode()
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def _first_bad(
    path: str, lines: np.ndarray, table: pa.Table, name: str, ok: Any, problem: str
) -> None:
    """Raise for the first row where ``ok`` is false: ``problem`` names {f} and its {v}."""
    if pc.all(ok).as_py() is not False:
        return
    row = int(pc.index(ok, False).as_py())
    value = _short(table.column(name)[row].as_py())
    raise MalformedEventError(path, int(lines[row]), problem.format(f=repr(name), v=value))


# --- naming the bad line ------------------------------------------------------------------


def find_bad_line(path: Path, data: bytes, first_line: int = 1) -> None:
    """Raise :class:`MalformedEventError` for the first line that is not a valid event.

    Returns when every line passes (the caller then reports the shard as a whole).
    Never raises anything but :class:`HistoryError`: it reads input known to be bad.
    """
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        if raw.strip():
            parse_line(str(path), number, raw)


def parse_line(path: str, line: int, raw: bytes) -> dict[str, Any]:
    """One line as a checked event dict; raises :class:`MalformedEventError`."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise MalformedEventError(
            path, line, f"not UTF-8 (byte 0x{bad} at column {exc.start + 1})"
        ) from None
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedEventError(path, line, f"not JSON: {_one_line(exc)}") from exc
    checked = check_event(event, path, line)
    for name in SCHEMA.names:  # the only duplicates the fast reader refuses
        if len(re.findall(rb'"' + name.encode() + rb'"\s*:', raw)) > 1:
            raise MalformedEventError(path, line, f"field {name!r} appears more than once")
    return checked


def check_event(event: Any, path: str, line: int) -> dict[str, Any]:
    """One event validated field by field; raises :class:`MalformedEventError`."""
    if not isinstance(event, dict):
        raise MalformedEventError(path, line, f"expected a JSON object, got {type(event).__name__}")
    for name in REQUIRED:
        if event.get(name) is None:
            raise MalformedEventError(path, line, f"missing field {name!r}")
    for name, kinds in _FIELD_TYPES.items():
        value = event.get(name)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            wanted = " or ".join(k.__name__ for k in kinds)
            raise MalformedEventError(
                path, line, f"field {name!r} should be {wanted}, got {_short(value)}"
            )
    for name, allowed in (("type", TYPES), ("f", OPS)):
        if event[name] not in allowed:
            problem = f"unknown {name} {_short(event[name])} (one of {allowed})"
            raise MalformedEventError(path, line, problem)
    _check_ranges(event, path, line)
    return event


def _check_ranges(event: dict[str, Any], path: str, line: int) -> None:
    if not 0 <= event["time_ns"] < 2**63:
        raise MalformedEventError(path, line, f"field 'time_ns' out of range: {event['time_ns']}")
    status = event.get("status")
    low, high = STATUS_RANGE
    if status is not None and not low <= status <= high:
        raise MalformedEventError(path, line, f"field 'status' outside {low}..{high}: {status}")
    expires = event.get("expires_at")
    if expires is not None and not (math.isfinite(expires) and 0 <= expires < 2**63):
        raise MalformedEventError(path, line, f"field 'expires_at' out of range: {expires}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# --- tables -------------------------------------------------------------------------------


def table_from_rows(rows: list[dict[str, Any]], shard: int, lines: list[int]) -> pa.Table:
    """Checked event dicts as a shard table (the in-memory and empty-shard path)."""
    columns = {name: [row.get(name) for row in rows] for name in SCHEMA.names}
    table = encoded(pa.table(columns, schema=SCHEMA))
    kept = [n for n, row in enumerate(rows) if row["f"] in VALUE_OPS]
    texts = [_value_text(rows[n]) for n in kept]
    values = _sparse_strings(len(rows), np.asarray(kept, dtype=np.int64), texts)
    return _with_extras(table, shard, np.asarray(lines, dtype=np.int64), values)


def _with_extras(table: pa.Table, shard: int, lines: np.ndarray, values: pa.Array) -> pa.Table:
    table = table.append_column("value", values)
    table = table.append_column("shard", pa.array(np.full(len(lines), shard, dtype=np.int32)))
    return table.append_column("line", pa.array(lines, type=pa.int64()))


def _values_column(data: bytes, table: pa.Table, lines: np.ndarray) -> pa.Array:
    """The JSON text of ``value`` on the rows of :data:`VALUE_OPS`.

    Only those few lines are parsed a second time; the high-volume ops' values (a
    claim's attempt, a submit's ``created``) are not read by the analysis.
    """
    codes = table.column("f").combine_chunks().indices.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(np.isin(codes, [OPS.index(f) for f in VALUE_OPS]))
    if not len(rows) or data.find(b'"value"') < 0:
        return pa.nulls(table.num_rows, pa.string())
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    ends = np.append(ends, len(data))
    starts = np.concatenate([[0], ends[:-1] + 1])
    line_index = lines[rows] - 1
    texts = [_value_text(orjson.loads(data[starts[i] : ends[i]])) for i in line_index.tolist()]
    return _sparse_strings(table.num_rows, rows, texts)


def _value_text(event: dict[str, Any]) -> str | None:
    value = event.get("value")
    return None if value is None else orjson.dumps(value).decode()


def _sparse_strings(n: int, rows: np.ndarray, texts: list[str | None]) -> pa.Array:
    """A string array of length ``n``: ``texts`` at ``rows``, null elsewhere."""
    indices = np.full(n, -1, dtype=np.int32)
    indices[rows] = np.arange(len(rows), dtype=np.int32)
    mask = indices < 0
    mask[rows] = [t is None for t in texts]
    dictionary = pa.array(texts, type=pa.string())
    encoded = pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask), dictionary)
    return encoded.cast(pa.string())
