"""Injective item encodings for the table heavy hitters (dpkit.pipeline.encoding)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpkit.errors import DPKitError
from dpkit.pipeline.encoding import ByteEncoding, CandidateEncoding, item_key

MAX = 12
_items = st.one_of(
    st.text(max_size=3),  # ≤ 12 UTF-8 bytes
    st.binary(max_size=MAX),
    st.integers(min_value=-(2**88), max_value=2**88 - 1),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_items, max_size=20))
def test_byte_round_trip(items: list) -> None:
    enc = ByteEncoding(MAX)
    rows = enc.encode(items)
    assert rows.shape == (len(items), MAX + 1)
    back = enc.decode(rows)
    assert [item_key(v) for v in back] == [item_key(v) for v in items]
    assert enc.valid_prefixes(rows, enc.bits).all()


@settings(max_examples=200, deadline=None)
@given(_items, _items)
def test_byte_injective(a: object, b: object) -> None:
    enc = ByteEncoding(MAX)
    ra, rb = enc.encode([a, b])
    assert (item_key(a) == item_key(b)) == bool((ra == rb).all())


def test_types_kept_apart() -> None:
    enc = ByteEncoding(4)
    rows = enc.encode(["1", b"1", 1, True])
    assert len({r.tobytes() for r in rows}) == 4
    assert enc.decode(rows) == ["1", b"1", 1, True]
    assert type(enc.decode(rows)[3]) is bool


def test_too_long_refused_or_truncated() -> None:
    with pytest.raises(DPKitError, match="url.*max_item_bytes=3"):
        ByteEncoding(3).encode(["abcd"], name="url")
    with pytest.raises(DPKitError, match="cannot be truncated"):
        ByteEncoding(2, "truncate").encode([2**40])
    t = ByteEncoding(3, "truncate")
    assert t.decode(t.encode(["abcdef", "hé!", "€x", b"12345"])) == ["abc", "hé", "€", b"123"]


@pytest.mark.parametrize("bad", [None, 1.5, float("nan"), object()])
def test_bad_items_refused(bad: object) -> None:
    with pytest.raises(DPKitError, match="col"):
        ByteEncoding(4).encode(["a", bad], name="col")


@pytest.mark.parametrize("kwargs", [{"max_item_bytes": 0}, {"max_item_bytes": 64},
                                    {"too_long": "drop"}])
def test_bad_params(kwargs: dict) -> None:
    with pytest.raises(DPKitError):
        ByteEncoding(**kwargs)


def test_invalid_records_decode_to_none() -> None:
    enc = ByteEncoding(3)
    rows = np.array([[2, 97, 98, 1],        # padding not zero
                     [5, 0, 0, 0],          # length 5 > 3
                     [1, 0xFF, 0, 0],       # invalid UTF-8
                     [0x80, 0, 0, 0],       # an empty int
                     [0x82, 0, 1, 0],       # a non-canonical int (leading zero byte)
                     [0xC1, 2, 0, 0]], dtype=np.uint8)  # a bool byte 2
    assert enc.decode(rows) == [None] * 6
    assert enc.valid_prefixes(rows, 32).tolist() == [False, False, True, True, True, True]
    assert enc.valid_prefixes(rows, 4).all()


def test_prefix_int_is_the_leading_bits() -> None:
    enc = ByteEncoding(8)
    rows = enc.encode(["hello", 123456789, b"\x00\xff"])
    for bits in (1, 7, 8, 13, 40, 62):
        want = [int.from_bytes(r.tobytes(), "big") >> (enc.bits - bits) for r in rows]
        assert enc.prefix_int(rows, bits).tolist() == want
    assert enc.prefix_int(rows, 63) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(_items, min_size=1, max_size=10, unique_by=item_key), st.lists(_items))
def test_candidate_round_trip(cands: list, items: list) -> None:
    enc = CandidateEncoding(cands)
    idx = enc.encode(items)
    keys = [item_key(c) for c in cands]
    for v, i in zip(items, idx.tolist(), strict=True):
        if item_key(v) in keys:
            assert item_key(enc.decode([i])[0]) == item_key(v)
        else:
            assert i == enc.other and enc.decode([i]) == [None]


def test_candidate_errors() -> None:
    with pytest.raises(DPKitError, match="distinct"):
        CandidateEncoding(["a", "b", "a"])
    with pytest.raises(DPKitError, match="1 to"):
        CandidateEncoding([])
    with pytest.raises(DPKitError, match="None"):
        CandidateEncoding(["a", None])
    enc = CandidateEncoding([1, 2])
    assert enc.encode([1.0, True, 2]).tolist() == [2, 2, 1]
    with pytest.raises(DPKitError, match="NaN"):
        enc.encode([float("nan")], name="x")
    with pytest.raises(DPKitError, match="index"):
        enc.decode([3])
