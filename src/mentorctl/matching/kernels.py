"""Compiled kernels (numba) for the candidate scan of large programmes.

`top_k_block` does in one pass over a block what `candidates.top_k_rotated` does with numpy in about ten
(a float copy of the costs, a partition per row, masks of the cells tied with the threshold, …): per row it
keeps the `keep` best candidates in a small heap, keyed exactly as `top_k_rotated` ranks them (cost, then the
row's rotation of the mentor order), and returns the same pairs, in the same order, with the same best score
left out. numpy does the rest of the scan (rules, scores, filters). At 50,000 mentees the numpy selection
took about 17 ns per evaluated cell on this machine, the kernel about 3 (`benchmarks/bench_kernels.py`).

numba is imported only when a programme is large enough for the selection to matter
(`use_kernel`): importing it costs about 0.4 s, and the first call of a fresh install compiles the kernel
(cached on disk afterwards). Without numba the numpy path is used; both are tested to agree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

KERNEL_CELLS = 20_000_000   # mentees × mentors from which the kernel pays for importing numba


_LOADING = threading.Lock()
_COMPILED: dict[Callable[..., Any], Callable[..., Any]] = {}


def numba_installed() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:   # pragma: no cover - numba is a dependency; the numpy / OR-Tools paths still work
        return False
    return True


def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled by numba (nogil, cached on disk; once per process, whichever thread asks first)."""
    with _LOADING:
        if function not in _COMPILED:
            import numba

            _COMPILED[function] = numba.njit(nogil=True, cache=True)(function)
        return _COMPILED[function]


def use_kernel(n_mentees: int, n_mentors: int) -> bool:
    """Whether a scan of n_mentees × n_mentors should use the compiled selection (and numba is installed)."""
    return n_mentees * n_mentors >= KERNEL_CELLS and compiled_top_k() is not None


def warm_up(n_mentees: int, n_mentors: int) -> None:
    """Load the kernels in the background when a programme of this size will use them (numba's import and
    loading the compiled kernels take about 0.6 s, hidden behind the rule checks that come first)."""
    if n_mentees * n_mentors >= KERNEL_CELLS:
        threading.Thread(target=_warm, name="mentorctl-kernels", daemon=True).start()


def _warm() -> None:
    compiled_top_k()


@cache
def compiled_top_k() -> Callable[..., Any] | None:
    """The compiled `_top_k` (None when numba is not installed), called once on a tiny block so that threads
    never compile it."""
    if not numba_installed():   # pragma: no cover
        return None
    kernel = compiled(_top_k)
    kernel(np.ones((1, 1), np.bool_), np.zeros((1, 1)), np.zeros(1, np.int64), np.zeros(1, np.int64), 1, 1, 1,
           1.0)
    return kernel


def top_k_block(mask: np.ndarray, score: np.ndarray, keep: int, rows: np.ndarray, cols: np.ndarray,
                n_mentors: int, spread: int, scale: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """`top_k_rotated`'s (row, column, score, best discarded) of a block, plus each row's candidate count and
    the lowest / highest candidate score (inf / −inf when there is none). Needs numba (see `use_kernel`)."""
    kernel = compiled_top_k()
    if kernel is None:   # pragma: no cover - guarded by use_kernel
        raise RuntimeError("numba is not installed")
    r, j, n, counts, disc, low, high = kernel(np.ascontiguousarray(mask), np.ascontiguousarray(score, np.float64),
                                              np.asarray(rows, np.int64), np.asarray(cols, np.int64), int(keep),
                                              int(n_mentors), int(spread), float(scale))
    r, j = r[:n], j[:n]
    return r, j, score[r, j], counts, disc, float(low), float(high)


def _top_k(mask, score, rows, cols, keep, n_mentors, spread, scale):  # noqa: ANN001, ANN202 - typed by numba
    """The kernel (plain Python until numba compiles it; see `top_k_block`). A cell's key is
    cost × n_mentors + tie rank, the tie rank (mentor + mentee × spread) mod n_mentors: unique in a row."""
    b, w = mask.shape
    out_r = np.empty(b * keep, np.int64)
    out_j = np.empty(b * keep, np.int64)
    counts = np.zeros(b, np.int64)
    disc = np.full(b, -np.inf)
    heap = np.empty(keep, np.int64)        # a max-heap of the kept keys …
    heap_col = np.empty(keep, np.int64)    # … and their columns
    order_key = np.empty(keep, np.int64)
    low, high = np.inf, -np.inf
    n_out = 0
    for r in range(b):
        shift = (rows[r] * spread) % n_mentors
        size = 0
        left_key = np.iinfo(np.int64).max   # the best key not kept, and its column
        left_col = -1
        for c in range(w):
            if not mask[r, c]:
                continue
            s = score[r, c]
            counts[r] += 1
            if s < low:
                low = s
            if s > high:
                high = s
            tie = cols[c] + shift
            if tie >= n_mentors:
                tie -= n_mentors
            key = -np.int64(np.rint(s * scale)) * n_mentors + tie
            if size < keep:   # push, sift up
                k = size
                size += 1
                while k > 0:
                    parent = (k - 1) >> 1
                    if heap[parent] >= key:
                        break
                    heap[k] = heap[parent]
                    heap_col[k] = heap_col[parent]
                    k = parent
                heap[k] = key
                heap_col[k] = c
                continue
            if key >= heap[0]:
                out_key, out_col = key, c
            else:             # replace the largest kept key, sift down
                out_key, out_col = heap[0], heap_col[0]
                k = 0
                while True:
                    child = 2 * k + 1
                    if child >= keep:
                        break
                    if child + 1 < keep and heap[child + 1] > heap[child]:
                        child += 1
                    if heap[child] <= key:
                        break
                    heap[k] = heap[child]
                    heap_col[k] = heap_col[child]
                    k = child
                heap[k] = key
                heap_col[k] = c
            if out_key < left_key:
                left_key, left_col = out_key, out_col
        if left_col >= 0:
            disc[r] = score[r, left_col]
        for k in range(size):   # the row's kept cells by cost, then column
            cost = (heap[k] - (heap[k] % n_mentors)) // n_mentors
            order_key[k] = cost * w + heap_col[k]
        kept = np.sort(order_key[:size])
        for k in range(size):
            column = kept[k] % w
            out_r[n_out] = r
            out_j[n_out] = column
            n_out += 1
    return out_r, out_j, n_out, counts, disc, low, high
