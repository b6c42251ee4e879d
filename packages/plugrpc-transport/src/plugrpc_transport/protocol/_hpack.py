"""HPACK with memoised header blocks: the same bytes hpack produces, without the work.

Theory of operation
-------------------
A gRPC connection sends the same few header blocks over and over: a method's request
headers, ``:status 200`` + ``content-type``, ``grpc-status: 0`` trailers. After the first
call every field of those blocks sits in the HPACK dynamic table (RFC 7541 section 2.3.2),
so hpack encodes each as a one-byte index and decodes it with a table lookup, and the
table does not change. hpack still walks the fields in Python each time, about a third of
h2's cost per call (reference/performance.md section g).

The memo is sound because an encoding or decoding that leaves the dynamic table untouched
is a pure function of the table's contents: ``_Table`` counts every change to the table
(an insertion, an eviction through insertion, a size change) in ``generation``, and a memo
entry is made only when the generation did not move while hpack produced it, and used only
under that same generation. Any change clears the memo. So a hit returns exactly the bytes
(or fields) hpack would have produced at that moment, and the peer's table stays in step.

* ``CachingEncoder`` memoises whole blocks (a tuple of fields -> bytes) and single indexed
  fields, so a block that differs from a known one in one field (a new metadata value)
  still reuses the others. hpack's own per-field encoder (``Encoder.add``) produces every
  field the memo does not know; a block is the concatenation of its fields (hpack's
  ``encode`` joins ``add``'s results), which is what makes per-field reuse exact.
* ``Unindexed`` marks a field to send as a *literal without indexing* (RFC 7541 section
  6.2.2): it never enters the dynamic table. The request's ``grpc-timeout`` uses it: its
  value differs on every call, and indexing it would add an entry per call, evicting the
  constant fields and moving the generation, so nothing could be memoised on either side
  (C-core also keeps per-call timeouts out of its table).
* ``CachingDecoder`` memoises whole blocks (bytes -> fields); its hits still honour the
  current ``max_header_list_size`` and table-size limit, as hpack's decode would.

Both are drop-in replacements for hpack's ``Encoder`` and ``Decoder`` inside h2 (set as
``encoder``/``decoder`` of the connection before any traffic). The memos are bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpack import Decoder, Encoder, HeaderTuple
from hpack.hpack import encode_integer
from hpack.table import HeaderTable, table_entry_size

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["CachingDecoder", "CachingEncoder", "Unindexed"]

_BLOCK_LIMIT = 512  # memoised blocks per direction and connection
_FIELD_LIMIT = 1024  # memoised indexed fields
_DECODE_KEY_LIMIT = 4096  # longer blocks are not memoised (rare; keys stay small)
_INDEX_NONE = b"\x00"  # RFC 7541 6.2.2, literal header field without indexing


class Unindexed(HeaderTuple):
    """A header field sent as a literal without indexing (RFC 7541 section 6.2.2).

    Its value never enters the HPACK dynamic table. hpack's own encoder, which knows no
    such representation, would send it as never-indexed (``indexable`` is False); the
    ``CachingEncoder`` sends it as RFC 7541 section 6.2.2 describes.
    """

    __slots__ = ()
    indexable = False


class _Table(HeaderTable):
    """hpack's header table, counting its changes in ``generation``."""

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0

    def add(self, name: bytes, value: bytes) -> None:
        self.generation += 1
        super().add(name, value)

    def _get_maxsize(self) -> int:
        return self._maxsize

    def _set_maxsize(self, newmax: int) -> None:
        self.generation += 1
        HeaderTable.maxsize.fset(self, newmax)  # type: ignore[attr-defined]

    maxsize = property(_get_maxsize, _set_maxsize)


class CachingEncoder(Encoder):
    """hpack's ``Encoder`` with block and field memos (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.header_table: _Table = _Table()
        self._generation = 0
        self._blocks: dict[tuple[Any, ...], bytes] = {}
        self._fields: dict[tuple[bytes, bytes], bytes] = {}
        self._literal_names: dict[bytes, bytes] = {}

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        table = self.header_table
        if table.resized or not huffman or type(headers) is not list:
            # A pending table-size update goes first in the block; dicts and raw-mode
            # encodings are hpack's alone. Nothing is memoised then.
            return super().encode(headers, huffman)
        if table.generation != self._generation:
            self._forget()
        start = self._generation
        key = tuple(headers)
        block = self._blocks.get(key)
        if block is not None:
            return block
        fields = self._fields
        parts: list[bytes] = []
        plain = True
        for header in key:
            kind = type(header)
            if kind is tuple:
                encoded = fields.get(header)
                if encoded is None:
                    before = table.generation
                    encoded = self.add(header, False, True)
                    if table.generation == before:
                        if len(fields) >= _FIELD_LIMIT:
                            fields.clear()
                        fields[header] = encoded
                    else:
                        # The table changed: every memo entry (this block's too) is stale.
                        self._forget()
                        fields = self._fields
            elif kind is Unindexed:
                plain = False
                encoded = self._unindexed(header[0], header[1])
            else:
                # hpack's other header types (never-indexed fields): hpack's own rules.
                plain = False
                before = table.generation
                encoded = self.add(
                    (header[0], header[1]), not getattr(header, "indexable", True), True
                )
                if table.generation != before:
                    self._forget()
                    fields = self._fields
            parts.append(encoded)
        block = b"".join(parts)
        if plain and table.generation == start:
            blocks = self._blocks
            if len(blocks) >= _BLOCK_LIMIT:
                blocks.clear()
            blocks[key] = block
        return block

    def _unindexed(self, name: bytes, value: bytes) -> bytes:
        """A literal without indexing; an index for the name or the field if the table has one."""
        match = self.header_table.search(name, value)
        if match is not None:
            index, _, perfect = match
            if perfect is not None:
                return self._encode_indexed(index)
            return self._encode_indexed_literal(index, value, _INDEX_NONE, True)
        head = self._literal_names.get(name)
        if head is None:
            huff = self.huffman_coder.encode(name)
            size = encode_integer(len(huff), 7)
            size[0] |= 0x80
            head = _INDEX_NONE + bytes(size) + huff
            if len(self._literal_names) < 64:
                self._literal_names[name] = head
        huff = self.huffman_coder.encode(value)
        size = encode_integer(len(huff), 7)
        size[0] |= 0x80
        return head + bytes(size) + huff

    def _forget(self) -> None:
        self._blocks.clear()
        self._fields.clear()
        self._generation = self.header_table.generation


class CachingDecoder(Decoder):
    """hpack's ``Decoder`` with a block memo (see the module doc)."""

    def __init__(self, max_header_list_size: int) -> None:
        super().__init__(max_header_list_size)
        self.header_table: _Table = _Table()
        self._generation = 0
        self._blocks: dict[bytes, tuple[tuple[HeaderTuple, ...], int]] = {}

    def decode(self, data: Any, raw: bool = False) -> Iterable[HeaderTuple]:
        if not raw:
            return super().decode(data, raw)
        table = self.header_table
        generation = table.generation
        if generation != self._generation:
            self._blocks.clear()
            self._generation = generation
        key = data if type(data) is bytes else bytes(data)
        hit = self._blocks.get(key)
        if (
            hit is not None
            and hit[1] <= self.max_header_list_size
            and table.maxsize <= self.max_allowed_table_size
        ):
            return list(hit[0])
        headers = super().decode(key, raw)
        if table.generation == generation and len(key) <= _DECODE_KEY_LIMIT:
            blocks = self._blocks
            if len(blocks) >= _BLOCK_LIMIT:
                blocks.clear()
            fields = tuple(headers)
            blocks[key] = (fields, sum(table_entry_size(n, v) for n, v in fields))
        return headers
