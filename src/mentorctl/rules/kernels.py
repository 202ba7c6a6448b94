"""The numpy kernels behind the nodes: elementwise helpers, list lookups (`in`, preference), overlap, jaccard.

Lists are encoded once as (row, item) entries; a lookup across the two sides is a dense (items x rows) table
while it fits in DENSE_LOOKUP_CELLS, else a sparse (mentees x mentors) matrix; overlap over a block is a
popcount of item bits (up to 64 shared items), else a sparse matrix product."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mentorctl.rules.encodings import BOOL, NUMBER
from mentorctl.rules.nodes import Const, Cross, Evaluation, Node, SideVector

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from mentorctl.rules.context import RuleContext
    from mentorctl.rules.encodings import ListEncoding

# List operations keep an (items x rows) table dense up to this many cells (128 MB), else sparse.
DENSE_LOOKUP_CELLS = 16_000_000


def truthy(value: Any) -> Any:
    import numpy as np

    value = np.asarray(value)
    if value.dtype == np.bool_:
        return value
    return (value != 0) & ~np.isnan(value)


def to_float(value: Any) -> Any:
    import numpy as np

    return np.asarray(value, dtype=np.float64)


def divide(a: Any, b: Any) -> Any:
    import numpy as np

    result = np.divide(a, b)
    return np.where(np.asarray(b) == 0, np.nan, result)


def text_ranks(ctx: RuleContext) -> Callable[[Any], Any]:
    """Map float vocabulary codes (NaN missing) to alphabetical ranks (NaN missing)."""
    import numpy as np

    def rank(codes: Any) -> Any:
        codes = np.asarray(codes)
        ranks = ctx.ranks()
        if len(ranks) == 0:
            return np.full(codes.shape, np.nan)
        ok = ~np.isnan(codes)
        return np.where(ok, ranks[np.where(ok, codes, 0).astype(np.intp)], np.nan)

    return rank


# -------------------------------------------------------------------------------------- list operations

@dataclass(frozen=True)
class FieldList:
    """A list argument read from a field: its side, name and encoding."""

    side: str
    name: str
    encoding: ListEncoding


@dataclass(frozen=True)
class LiteralList:
    """A literal list argument: codes in written order."""

    codes: np.ndarray


ListOperand = FieldList | LiteralList


@dataclass(frozen=True)
class FieldItem:
    """A single item that is a field's whole value: its side, name and int64 codes (one per row)."""

    side: str
    name: str
    codes: np.ndarray


@dataclass(frozen=True)
class LiteralItem:
    """A single literal item: its code."""

    code: int


ItemOperand = FieldItem | LiteralItem


def _entry_values(encoding: ListEncoding, mode: str) -> np.ndarray:
    import numpy as np

    if mode == "in":
        return np.ones(len(encoding.rows))
    length = encoding.lens[encoding.rows]
    return (length - encoding.ranks + 1) / length


def _literal_values(codes: np.ndarray, mode: str) -> np.ndarray:
    import numpy as np

    n = len(codes)
    return np.ones(n) if mode == "in" else (n - np.arange(n)) / n


def _value_of_items(codes: np.ndarray, values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """values[j] where codes[j] == items[i], else 0 (codes distinct)."""
    import numpy as np

    out = np.zeros(len(items))
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    pos = np.minimum(np.searchsorted(codes[order], items), len(codes) - 1)
    hit = codes[order][pos] == items
    out[hit] = values[order][pos[hit]]
    return out


def lookup_node(ctx: RuleContext, lst: ListOperand, item: ItemOperand, mode: str) -> Node:
    """`item in list` (mode "in": 1/0) or preference(list, item) (mode "preference")."""
    import numpy as np

    if isinstance(lst, LiteralList):
        literal = lst.codes
        values = _literal_values(literal, mode)
        if isinstance(item, LiteralItem):
            return Const(float(_value_of_items(literal, values, np.array([item.code]))[0]), NUMBER)
        item_codes = item.codes
        return SideVector(item.side, lambda: _value_of_items(literal, values, item_codes), NUMBER, False)
    enc = lst.encoding
    values = _entry_values(enc, mode)
    if isinstance(item, LiteralItem) or item.side == lst.side:
        def per_row() -> np.ndarray:
            wanted = item.code if isinstance(item, LiteralItem) else item.codes[enc.rows]
            match = enc.codes == wanted
            out = np.zeros(enc.n)
            out[enc.rows[match]] = values[match]
            return out

        return SideVector(lst.side, per_row, NUMBER, False)
    key = ("lookup", mode, lst.side, *ctx.frame_key(lst.side, lst.name), item.side,
           *ctx.frame_key(item.side, item.name))

    def prepare() -> Callable[[Evaluation], np.ndarray]:
        if key not in ctx.prepared:
            ctx.prepared[key] = _prepare_lookup(enc, values, lst.side, item.codes)
        return ctx.prepared[key]

    return Cross(prepare)


def _prepare_lookup(enc: ListEncoding, values: np.ndarray, list_side: str,
                    items: np.ndarray) -> Callable[[Evaluation], np.ndarray]:
    """Value of (list row t, item row s) = values of the entry of t whose code is items[s], else 0."""
    import numpy as np

    common = np.intersect1d(enc.codes, items[items >= 0])
    k = len(common)
    if k == 0:
        return lambda ev: np.zeros(ev.shape)
    keep = np.isin(enc.codes, common)
    erows, ecols, evals = enc.rows[keep], np.searchsorted(common, enc.codes[keep]), values[keep]
    pos = np.minimum(np.searchsorted(common, items), k - 1)
    xc = np.where((items >= 0) & (common[pos] == items), pos, k)  # k = the all-zero column
    n_list = enc.n
    if n_list * (k + 1) <= DENSE_LOOKUP_CELLS:
        if list_side == "mentor":
            table = np.zeros((k + 1, n_list))
            table[ecols, erows] = evals

            def dense_mentor_list(ev: Evaluation) -> np.ndarray:
                mi, mj = ev.idx["mentee"], ev.idx["mentor"]
                if ev.mode == "pairs":
                    return table[xc[mi], mj]
                block = table[xc[mi]]
                return block if mj is None else block[:, mj]

            return dense_mentor_list
        table = np.zeros((n_list, k + 1))
        table[erows, ecols] = evals

        def dense_mentee_list(ev: Evaluation) -> np.ndarray:
            mi, mj = ev.idx["mentee"], ev.idx["mentor"]
            if ev.mode == "pairs":
                return table[mi, xc[mj]]
            return np.take(table[mi], xc if mj is None else xc[mj], axis=1)

        return dense_mentee_list
    # large vocabularies (ids): one sparse (mentees x mentors) matrix of values, built by joining on the code
    from scipy import sparse

    order = np.argsort(xc, kind="stable")
    sorted_codes = xc[order]
    start = np.searchsorted(sorted_codes, ecols, side="left")
    count = np.searchsorted(sorted_codes, ecols, side="right") - start
    entry = np.repeat(np.arange(len(ecols)), count)
    offset = np.arange(len(entry)) - np.repeat(np.cumsum(count) - count, count)
    item_rows = order[np.repeat(start, count) + offset]
    list_rows, data = erows[entry], evals[entry]
    n_items = len(items)
    if list_side == "mentee":
        matrix = sparse.csr_array((data, (list_rows, item_rows)), shape=(n_list, n_items))
    else:
        matrix = sparse.csr_array((data, (item_rows, list_rows)), shape=(n_items, n_list))

    def sparse_lookup(ev: Evaluation) -> np.ndarray:
        mi, mj = ev.idx["mentee"], ev.idx["mentor"]
        assert mi is not None  # blocks and pairs always index the mentees
        if ev.mode == "pairs":
            assert mj is not None  # pairs index both sides
            if len(mi) == 0:
                return np.zeros(0)
            return np.asarray(matrix[mi, mj]).ravel().astype(np.float64)
        block = matrix[mi]
        if mj is not None:
            block = block[:, mj]
        return block.toarray()

    return sparse_lookup


def overlap_node(ctx: RuleContext, a: ListOperand, b: ListOperand) -> Node:
    """Number of items two lists share."""
    import numpy as np

    if isinstance(a, FieldList):
        field, b = a, b
    elif isinstance(b, FieldList):
        field, b = b, a
    else:
        return Const(float(len(np.intersect1d(a.codes, b.codes))), NUMBER)
    a = field
    enc = a.encoding
    if isinstance(b, LiteralList):
        literal = b.codes
        return SideVector(a.side, lambda: np.bincount(enc.rows[np.isin(enc.codes, literal)],
                                                       minlength=enc.n).astype(np.float64), NUMBER, False)
    other = b.encoding
    if a.side == b.side:
        def per_row() -> np.ndarray:
            width = max(ctx.vocabulary_size, 1)
            shared = np.isin(enc.rows * width + enc.codes, other.rows * width + other.codes)
            return np.bincount(enc.rows[shared], minlength=enc.n).astype(np.float64)

        return SideVector(a.side, per_row, NUMBER, False)
    mentee, mentor = (a, b) if a.side == "mentee" else (b, a)
    key = ("overlap", *ctx.frame_key("mentee", mentee.name), *ctx.frame_key("mentor", mentor.name))

    def prepare() -> Callable[[Evaluation], np.ndarray]:
        if key not in ctx.prepared:
            ctx.prepared[key] = _prepare_overlap(mentee.encoding, mentor.encoding)
        return ctx.prepared[key]

    node = Cross(prepare)
    node.overlap = True   # a count of shared items: compared_count may compare it without floats
    return node


def _compact_matrix(enc: ListEncoding, common: np.ndarray) -> Any:  # a scipy sparse array (scipy is untyped)
    import numpy as np
    from scipy import sparse

    keep = np.isin(enc.codes, common)
    return sparse.csr_array((np.ones(int(keep.sum())), (enc.rows[keep], np.searchsorted(common, enc.codes[keep]))),
                            shape=(enc.n, len(common)))


def _bits(enc: ListEncoding, common: np.ndarray) -> np.ndarray:
    """Each row's items among `common` (at most 64) as the bits of one uint64."""
    import numpy as np

    keep = np.isin(enc.codes, common)
    bits = np.zeros(enc.n, np.uint64)
    np.bitwise_or.at(bits, enc.rows[keep], np.left_shift(np.uint64(1),
                                                         np.searchsorted(common, enc.codes[keep]).astype(np.uint64)))
    return bits


def _prepare_overlap(mentee: ListEncoding, mentor: ListEncoding) -> Callable[[Evaluation], np.ndarray]:
    """Block overlap. Up to 64 shared items (languages, skills, sites): each person's items are the bits of a
    uint64 and the overlap of a pair is the popcount of their AND (no matrix product, no scipy). Beyond 64:
    (mentee items, sparse) @ (items x mentors, dense when it fits): cost ~ items x mentors."""
    import numpy as np

    common = np.intersect1d(mentee.codes, mentor.codes)
    if len(common) == 0:
        return lambda ev: np.zeros(ev.shape)
    if len(common) <= 64:
        left_bits, right_bits = _bits(mentee, common), _bits(mentor, common)

        def overlap_counts(ev: Evaluation) -> np.ndarray:
            mi, mj = ev.idx["mentee"], ev.idx["mentor"]
            a = left_bits if mi is None else left_bits[mi]
            b = right_bits if mj is None else right_bits[mj]
            shared = a & b if ev.mode == "pairs" else a[:, None] & b[None, :]
            return np.bitwise_count(shared)   # uint8

        def overlap_bits(ev: Evaluation) -> np.ndarray:
            return overlap_counts(ev).astype(np.float64)

        overlap_bits.counts = overlap_counts  # type: ignore[attr-defined]  # read by compared_count
        return overlap_bits
    left, right = _compact_matrix(mentee, common), _compact_matrix(mentor, common)
    right_t = right.T.tocsr()
    dense_right_t = right_t.toarray() if right_t.shape[0] * right_t.shape[1] <= DENSE_LOOKUP_CELLS else None

    def overlap(ev: Evaluation) -> np.ndarray:
        mi, mj = ev.idx["mentee"], ev.idx["mentor"]
        if ev.mode == "pairs":
            return np.asarray(left[mi].multiply(right[mj]).sum(axis=1), dtype=np.float64).ravel()
        if dense_right_t is not None:
            return left[mi] @ (dense_right_t if mj is None else dense_right_t[:, mj])
        return (left[mi] @ (right_t if mj is None else right[mj].T.tocsr())).toarray()

    return overlap


def len_node(lst: ListOperand) -> Node:
    if isinstance(lst, LiteralList):
        return Const(float(len(lst.codes)), NUMBER)
    lens = lst.encoding.lens
    return SideVector(lst.side, lambda: lens, NUMBER, False)


def jaccard(shared: Any, len_a: Any, len_b: Any) -> Any:
    """shared / union, 0 when both lists are empty (then shared = 0 too, so divide by max(union, 1))."""
    import numpy as np

    union = np.asarray(np.add(len_a, len_b), dtype=np.float64)
    union = np.subtract(union, shared, out=union if union.shape == np.broadcast_shapes(union.shape,
                                                                                        np.shape(shared)) else None)
    np.maximum(union, 1.0, out=union)
    return np.divide(shared, union, out=union if union.shape == np.shape(shared) else None)



def reduce_all(fn: Callable[[Any, Any], Any], values: tuple[Any, ...]) -> Any:
    result = values[0]
    for value in values[1:]:
        result = fn(result, value)
    return result


def compared_count(shared: Node, compare: Callable[[Any, Any], Any], value: float) -> Node:
    """`shared` (an overlap of a mentee's and a mentor's lists) compared with a number: where the overlap is
    a popcount of item bits, the uint8 counts are compared with an equivalent whole-number threshold, so a
    block never becomes float64 (`overlap(mentor.languages, mentee.languages) >= 1` is a common rule);
    otherwise exactly `compare(shared, value)`."""
    import math

    import numpy as np

    def prepare() -> Callable[[Evaluation], np.ndarray]:
        evaluate = shared._prepared() if isinstance(shared, Cross) else shared.eval
        counts = getattr(evaluate, "counts", None)
        constant = np.float64(value)
        if counts is None or not math.isfinite(value):
            return lambda ev: compare(evaluate(ev), constant)
        whole = float(value).is_integer()
        threshold: float = value
        if compare in (np.greater_equal, np.less):
            threshold = math.ceil(value)
        elif compare in (np.greater, np.less_equal):
            threshold = math.floor(value)
        if compare in (np.equal, np.not_equal) and not whole:   # a count never equals a fraction
            return lambda ev: np.full(ev.shape, compare is np.not_equal)
        low, high = 0, 255
        if not low <= threshold <= high:   # counts are 0-64: the same answer for every pair
            outcome = bool(compare(np.float64(0), constant))
            return lambda ev: np.full(ev.shape, outcome)
        limit = np.uint8(threshold)
        return lambda ev: compare(counts(ev), limit)

    node = Cross(prepare, boolean=True)
    node.type = BOOL
    return node
