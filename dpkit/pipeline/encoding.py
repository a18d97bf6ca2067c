"""Injective encodings of table items (str, bytes, int, bool) for the heavy-hitter walk.

The prefix-tree heavy-hitter protocols (PEM of Wang, Li, Jha, "Locally Differentially Private
Heavy Hitter Identification", IEEE TDSC 2019, arXiv:1708.06674; TreeHist of Bassily, Nissim,
Stemmer, Thakurta, NeurIPS 2017) discover items bit by bit, so an item must be a fixed-width
bit string, and a discovered bit string must decode back to the value the user held. Two
encodings:

* :class:`ByteEncoding` — a record of ``1 + max_item_bytes`` bytes: one header byte (a 2-bit
  type tag: str, bytes, int, bool; and the 6-bit content length L ≤ 63), then the L content
  bytes (UTF-8 for str, the raw bytes, big-endian two's complement for int, one byte 0/1 for
  bool), then zero padding. Injective (the tag separates ``"1"``, ``b"1"``, ``1`` and
  ``True``; the length separates ``"a"`` from ``"a\\x00"``), and :meth:`ByteEncoding.decode`
  inverts it. Items longer than ``max_item_bytes`` are refused (``too_long="error"``,
  default) or cut to ``max_item_bytes`` (``too_long="truncate"``; str at a character
  boundary, so the cut value is a valid string; int cannot be cut and is always refused). The
  record's bits are the prefix tree's bits (most significant bit of byte 0 first).
* :class:`CandidateEncoding` — a *public* list of candidate items; an item encodes to its
  index in the list, any item not in the list to ``len(candidates)`` (the "other" symbol,
  never reported as a heavy hitter). Types are kept apart (``1``, ``1.0`` and ``True`` are
  three different candidates).

Privacy: an encoding is a fixed, public, per-item map applied before the local randomizer (no
data-dependent choice, no randomness): it costs nothing and changes no sensitivity. With
``too_long="error"`` the *refusal* depends on the data (whether some unit holds a long item):
that error is raised before anything is released, but it is a one-bit side channel, as every
input error is; use ``too_long="truncate"`` when that matters.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import _validate as V
from ..errors import DPKitError

__all__ = ["ByteEncoding", "CandidateEncoding", "MAX_ITEM_BYTES", "item_key"]

#: Largest content length of :class:`ByteEncoding` (the header's 6-bit length field).
MAX_ITEM_BYTES = 63

#: Type tags of the header byte (its top 2 bits).
_TAG_STR, _TAG_BYTES, _TAG_INT, _TAG_BOOL = 0, 1, 2, 3

TooLong = Literal["error", "truncate"]


def _canonical(value: Any, name: str) -> tuple[int, Any]:
    """(tag, Python value) of one item: str, bytes, int or bool (numpy scalars included).

    Raises:
        DPKitError: anything else (floats, None, NaN, ...), naming ``name``.
    """
    if isinstance(value, (bool, np.bool_)):
        return _TAG_BOOL, bool(value)
    if isinstance(value, str):  # np.str_ is a str
        return _TAG_STR, str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):  # np.bytes_ is a bytes
        return _TAG_BYTES, bytes(value)
    if isinstance(value, (int, np.integer)):
        return _TAG_INT, int(value)
    raise DPKitError(f"{name} must hold str, bytes, int or bool items (no None/NaN/floats), "
                     f"got {value!r} of type {type(value).__name__}")


def item_key(value: Any, name: str = "item") -> tuple[str, Any]:
    """A hashable key of an item that keeps types apart: ``("int", 1)``, ``("str", "1")``,
    ``("bool", True)``, ``("float", 1.0)``; numpy scalars map to their Python type.

    Used by :class:`CandidateEncoding` (``1``, ``1.0`` and ``True`` are equal as dict keys in
    Python; as candidates they must not be). A pure function: no privacy cost.

    Raises:
        DPKitError: ``value`` not hashable, None, or a NaN float, naming ``name``.
    """
    if value is None:
        raise DPKitError(f"{name} must not be None (null)")
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ("bytes", bytes(value))
    if isinstance(value, (int, np.integer)):
        return ("int", int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise DPKitError(f"{name} must not be NaN or infinite, got {value!r}")
        return ("float", float(value))
    try:
        hash(value)
    except TypeError:
        raise DPKitError(f"{name} must be hashable, got {type(value).__name__}") from None
    return (type(value).__name__, value)


def _int_bytes(x: int) -> bytes:
    """Big-endian two's complement of x in max(1, ⌊bit_length/8⌋ + 1) bytes (injective)."""
    return x.to_bytes(max(1, (x.bit_length() + 8) // 8), "big", signed=True)


@dataclass(frozen=True)
class ByteEncoding:
    """Length-prefixed byte records: item ↔ fixed-width bit string (see the module docstring).

    Privacy: a public per-item map (no cost); the refusal of long items is data-dependent
    (``too_long="error"``), see the module docstring. Wang, Li, Jha 2019 (PEM) walk these bits.

    Args:
        max_item_bytes: the longest content in bytes, 1..63 (UTF-8 bytes for str).
        too_long: "error" (default: refuse a longer item with a DPKitError naming the column)
            or "truncate" (cut it to ``max_item_bytes``; str at a character boundary).

    Raises:
        DPKitError: max_item_bytes outside 1..63, or too_long not "error"/"truncate".

    >>> enc = ByteEncoding(4)
    >>> rows = enc.encode(["ab", b"ab", 7, True, -300])
    >>> rows.shape, enc.bits
    ((5, 5), 40)
    >>> enc.decode(rows)
    ['ab', b'ab', 7, True, -300]
    """

    max_item_bytes: int = 16
    too_long: TooLong = "error"
    width: int = field(init=False)

    def __post_init__(self) -> None:
        m = V.integer(minimum=1, maximum=MAX_ITEM_BYTES, max_item_bytes=self.max_item_bytes)
        object.__setattr__(self, "max_item_bytes", m)
        if self.too_long not in ("error", "truncate"):
            raise DPKitError(f"too_long must be 'error' or 'truncate', got {self.too_long!r}")
        object.__setattr__(self, "width", 1 + m)

    @property
    def bits(self) -> int:
        """ℓ = 8·(1 + max_item_bytes), the bit length of every record."""
        return 8 * self.width

    def _content(self, tag: int, v: Any, name: str) -> bytes:
        if tag == _TAG_STR:
            raw = v.encode("utf-8")
        elif tag == _TAG_BYTES:
            raw = v
        elif tag == _TAG_BOOL:
            raw = b"\x01" if v else b"\x00"
        else:
            raw = _int_bytes(v)
        m = self.max_item_bytes
        if len(raw) <= m:
            return bytes(raw)
        if self.too_long == "error" or tag == _TAG_INT:
            what = "int items cannot be truncated; " if tag == _TAG_INT else ""
            raise DPKitError(f"{name} holds an item of {len(raw)} bytes, more than "
                             f"max_item_bytes={m} ({what}raise max_item_bytes (<= "
                             f"{MAX_ITEM_BYTES}) or pass too_long='truncate')")
        if tag == _TAG_STR:  # cut at a character boundary: the cut string stays valid UTF-8
            return raw[:m].decode("utf-8", errors="ignore").encode("utf-8")
        return bytes(raw[:m])

    def encode(self, items: Iterable[Any], *, name: str = "item") -> np.ndarray:
        """The (n, 1 + max_item_bytes) uint8 records of the items (one row per item).

        Args:
            items: an iterable of str, bytes, int or bool (numpy scalars included).
            name: the column name used in error messages.

        Raises:
            DPKitError: an item of another type (None, NaN, float, ...), or longer than
                ``max_item_bytes`` with ``too_long="error"`` (or an int that does not fit),
                naming ``name``.
        """
        w = self.width
        pad = bytes(w)
        parts: list[bytes] = []
        for value in items:
            tag, v = _canonical(value, name)
            raw = self._content(tag, v, name)
            parts.append(bytes(((tag << 6) | len(raw),)) + raw + pad[:w - 1 - len(raw)])
        if not parts:
            return np.zeros((0, w), dtype=np.uint8)
        return np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(len(parts), w).copy()

    def decode(self, rows: np.ndarray) -> list[Any]:
        """The items of records (the inverse of :meth:`encode`); an invalid record (bad header
        length, nonzero padding, invalid UTF-8, a bool byte other than 0/1, an empty int)
        decodes to None. Post-processing: no privacy cost.

        Raises:
            DPKitError: rows not an (m, 1 + max_item_bytes) integer array of bytes.
        """
        r = self._rows(rows)
        out: list[Any] = []
        for row in r:
            out.append(self._decode_row(bytes(row)))
        return out

    def _rows(self, rows: Any) -> np.ndarray:
        r = np.asarray(rows)
        if r.ndim != 2 or r.shape[1] != self.width or r.dtype.kind not in "iu":
            raise DPKitError(f"rows must be an (m, {self.width}) array of bytes, got shape "
                             f"{r.shape}, dtype {r.dtype}")
        if r.size and (int(r.min()) < 0 or int(r.max()) > 255):
            raise DPKitError("rows must hold bytes in [0, 255]")
        return r.astype(np.uint8)

    def _decode_row(self, rec: bytes) -> Any:
        tag, length = rec[0] >> 6, rec[0] & 63
        if length > self.max_item_bytes or any(rec[1 + length:]):
            return None
        raw = rec[1:1 + length]
        if tag == _TAG_STR:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return None
        if tag == _TAG_BYTES:
            return raw
        if tag == _TAG_BOOL:
            return bool(raw[0]) if length == 1 and raw[0] in (0, 1) else None
        if length == 0:
            return None
        x = int.from_bytes(raw, "big", signed=True)
        return x if _int_bytes(x) == raw else None  # only canonical records are valid

    def valid_prefixes(self, rows: np.ndarray, bits: int) -> np.ndarray:
        """Which records' first ``bits`` bits can start a valid record (a boolean per row).

        Checks what a prefix already shows: the header's length field (≤ max_item_bytes)
        once the header is complete, and zero padding after the content. Used to prune the
        walk's candidates; public post-processing (no privacy cost).

        Raises:
            DPKitError: rows not an (m, width) byte array; bits outside 0..ℓ.
        """
        r = self._rows(rows)
        b = V.integer(minimum=0, maximum=self.bits, bits=bits)
        ok = np.ones(r.shape[0], dtype=bool)
        if b < 8:
            return ok
        length = (r[:, 0] & 63).astype(np.int64)
        ok &= length <= self.max_item_bytes
        full, rest = divmod(b, 8)
        for j in range(1, min(full, self.width)):  # complete content bytes shown
            ok &= (j <= length) | (r[:, j] == 0)
        if rest and full < self.width:  # a partial byte: its shown bits must be 0 as padding
            shown = (r[:, full] >> (8 - rest)) != 0
            ok &= (full <= length) | ~shown
        return ok

    def prefix_int(self, rows: np.ndarray, bits: int) -> np.ndarray | None:
        """The first ``bits`` bits of each record as an int64 (None when bits > 62)."""
        r = self._rows(rows)
        b = V.integer(minimum=0, maximum=self.bits, bits=bits)
        if b > 62:
            return None
        nbytes = -(-b // 8)
        acc = np.zeros(r.shape[0], dtype=np.uint64)
        for j in range(nbytes):  # at most 8 bytes: exact in uint64
            acc = (acc << np.uint64(8)) | r[:, j].astype(np.uint64)
        return (acc >> np.uint64(8 * nbytes - b)).astype(np.int64)


@dataclass(frozen=True, init=False)
class CandidateEncoding:
    """A public candidate list: item → its index, any other item → ``len(candidates)``.

    Privacy: the list must be public (chosen without looking at the data); the map is then a
    fixed per-item function (no cost). Items are compared by :func:`item_key` (types kept
    apart).

    Args:
        candidates: a non-empty sequence of distinct hashable items (no None/NaN), at most
            2^32 − 1 of them.

    Raises:
        DPKitError: an empty list, a duplicate, None/NaN or an unhashable candidate.

    >>> enc = CandidateEncoding(["a", 1, True])
    >>> enc.encode(["a", True, 1, "zz", 1.0]).tolist()
    [0, 2, 1, 3, 3]
    >>> enc.decode([2, 0])
    [True, 'a']
    """

    candidates: tuple[Any, ...]
    _index: dict[tuple[str, Any], int]

    def __init__(self, candidates: Sequence[Hashable]) -> None:
        if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__len__"):
            raise DPKitError(f"candidates must be a sequence of items, got "
                             f"{type(candidates).__name__}")
        cand = tuple(candidates)
        if not cand or len(cand) >= 2**32:
            raise DPKitError(f"candidates must hold 1 to 2**32 - 1 items, got {len(cand)}")
        index: dict[tuple[str, Any], int] = {}
        for i, c in enumerate(cand):
            key = item_key(c, f"candidates[{i}]")
            if key in index:
                raise DPKitError(f"candidates must be distinct: candidates[{i}] = {c!r} repeats "
                                 f"candidates[{index[key]}]")
            index[key] = i
        object.__setattr__(self, "candidates", cand)
        object.__setattr__(self, "_index", index)

    @property
    def other(self) -> int:
        """The index of every item outside the list: ``len(candidates)``."""
        return len(self.candidates)

    @property
    def domain_size(self) -> int:
        """len(candidates) + 1 (the candidates and the "other" symbol)."""
        return len(self.candidates) + 1

    def encode(self, items: Iterable[Any], *, name: str = "item") -> np.ndarray:
        """int64 indices of the items (``other`` for items not in the list).

        Raises:
            DPKitError: a None, NaN or unhashable item, naming ``name``.
        """
        other = self.other
        get = self._index.get
        out = [get(item_key(v, name), other) for v in items]
        return np.asarray(out, dtype=np.int64).reshape(-1)

    def decode(self, indices: Iterable[Any]) -> list[Any]:
        """The candidates at the given indices (``other`` decodes to None).

        Raises:
            DPKitError: an index outside 0..len(candidates).
        """
        out: list[Any] = []
        for i in indices:
            j = V.integer(minimum=0, maximum=self.other, index=i)
            out.append(None if j == self.other else self.candidates[j])
        return out
