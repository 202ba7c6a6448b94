"""Compiled kernels (numba) for the candidate scan, the min-cost flow and its proof on large programmes.

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
    """`function` compiled by numba (nogil, cached on disk; once per process, whichever thread asks first).
    The helpers kernels call (`_HELPERS`) are compiled first and bound in this module's globals, where numba
    looks them up."""
    with _LOADING:
        if function not in _COMPILED:
            import numba

            for name in _HELPERS:
                if not isinstance(globals()[name], numba.core.dispatcher.Dispatcher):
                    globals()[name] = numba.njit(nogil=True, cache=True)(globals()[name])
            _COMPILED[function] = numba.njit(nogil=True, cache=True)(function)
        return _COMPILED[function]


def _arc_slots(n, tails, heads, backward_too):  # noqa: ANN001, ANN202 - typed by numba
    """The graph layout shared by the kernels: slots grouped by the node they leave — each arc forward from
    its tail and, with `backward_too` (a residual graph), backward from its head. Returns (start, forward
    slot, backward slot — empty without `backward_too`): node v's slots are start[v]..start[v + 1]."""
    m = len(tails)
    start = np.zeros(n + 1, np.int64)
    for e in range(m):
        start[tails[e] + 1] += 1
        if backward_too:
            start[heads[e] + 1] += 1
    for v in range(n):
        start[v + 1] += start[v]
    fill = start[:n].copy()
    forward = np.empty(m, np.int64)
    backward = np.empty(m if backward_too else 0, np.int64)
    for e in range(m):
        forward[e] = fill[tails[e]]
        fill[tails[e]] += 1
        if backward_too:
            backward[e] = fill[heads[e]]
            fill[heads[e]] += 1
    return start, forward, backward


_HELPERS = ("_arc_slots",)


def use_kernel(n_mentees: int, n_mentors: int) -> bool:
    """Whether a scan of n_mentees × n_mentors should use the compiled selection (and numba is installed)."""
    return n_mentees * n_mentors >= KERNEL_CELLS and compiled_top_k() is not None


def warm_up(n_mentees: int, n_mentors: int) -> None:
    """Load the kernels in the background when a programme of this size will use them (numba's import and
    loading the compiled kernels take about 0.6 s, hidden behind the rule checks that come first)."""
    if n_mentees * n_mentors >= KERNEL_CELLS:
        threading.Thread(target=_warm, name="mentorctl-kernels", daemon=True).start()


def _warm() -> None:
    precompile()   # loads the compiled kernels (the proof's two are needed a few seconds later)


def precompile() -> None:
    """Compile every kernel now (an install step: `make` runs it, so no match pays the first compilation)."""
    if compiled_top_k() is None:   # pragma: no cover - numba missing
        return
    one = np.zeros(1, np.int64)
    cancel_cycles(2, one, one + 1, one, one + 1, one.copy(), np.zeros(2, np.int64), one, 1)
    shortest_from_root(2, one, one + 1, one, 1, None)
    min_cost_max_flow(2, one, one + 1, one + 1, one, 0, 1)


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


def cancel_cycles(n_nodes: int, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, caps: np.ndarray,
                  flow: np.ndarray, pot: np.ndarray, entering: np.ndarray, max_runs: int) -> int:
    """`flow.cancel_through`'s loop, compiled: changes `flow` and `pot` in place. Returns 1 when no entering
    arc is violated any more (optimal), 0 after `max_runs` Dijkstra runs, −1 when a residual arc outside
    `entering` has a negative reduced cost (the invariant broken: a bug)."""
    return int(compiled(_cancel_cycles)(n_nodes, tails.astype(np.int64), heads.astype(np.int64),
                                        costs.astype(np.int64), caps.astype(np.int64), flow, pot,
                                        entering.astype(np.int64), max_runs))


def _cancel_cycles(n, tails, heads, costs, caps, flow, pot, entering, max_runs):  # noqa: ANN001, ANN202, C901, PLR0912, PLR0915
    """The kernel of `cancel_cycles`: integer Dijkstra (an indexed binary heap) from the node most
    violated arcs enter, under reduced costs, up to the largest violation; cancel the most negative cycle a
    violated arc closes; raise the potentials by min(distance, that cycle's distance). The residual graph is
    one CSR of slots (each arc forward and backward) with each slot's cost sign and room kept beside it, so
    a relaxation reads contiguous memory."""
    a = len(tails)
    start, forward_slot, backward_slot = _arc_slots(n, tails, heads, True)
    other = np.empty(2 * a, np.int32)
    slot_cost = np.empty(2 * a, np.int64)
    room = np.empty(2 * a, np.int64)
    slot_arc = np.empty(2 * a, np.int64)   # the arc, + a when backward
    for e in range(a):
        t, h, k = tails[e], heads[e], forward_slot[e]
        other[k], slot_cost[k], room[k], slot_arc[k] = h, costs[e], caps[e] - flow[e], e
        k = backward_slot[e]
        other[k], slot_cost[k], room[k], slot_arc[k] = t, -costs[e], flow[e], e + a
    never = np.int64(2**62)
    dist = np.empty(n, np.int64)
    done = np.zeros(n, np.bool_)
    pred_slot = np.full(n, -1, np.int64)
    heap = np.empty(n, np.int64)          # an indexed binary heap of nodes keyed by dist (decrease-key in place)
    place = np.full(n, -1, np.int64)     # each node's index in the heap, −1 when not in it
    bad = np.zeros(a, np.bool_)
    bad_into = np.zeros(n, np.int64)
    close_red = np.zeros(n, np.int64)
    close_arc = np.full(n, -1, np.int64)
    for _ in range(max_runs):
        n_bad = 0
        for e in entering:
            is_bad = flow[e] < caps[e] and costs[e] + pot[tails[e]] - pot[heads[e]] < 0
            bad[e] = is_bad
            if is_bad:
                bad_into[heads[e]] += 1
                n_bad += 1
                room[forward_slot[e]] = 0   # violated arcs are not in this run's graph
        if n_bad == 0:
            return 1
        target = 0
        for v in range(n):
            if bad_into[v] > bad_into[target]:
                target = v
        limit = np.int64(0)
        for e in entering:
            if bad[e] and heads[e] == target:
                violation = -(costs[e] + pot[tails[e]] - pot[heads[e]])
                if violation > limit:
                    limit = violation
        for e in entering:
            if bad[e]:
                bad_into[heads[e]] = 0
                if heads[e] == target:   # per tail, the most violated arc into the target (first of equals)
                    red = costs[e] + pot[tails[e]] - pot[heads[e]]
                    t = tails[e]
                    if close_arc[t] < 0 or red < close_red[t]:
                        close_red[t], close_arc[t] = red, e
        best_value, close = np.int64(0), -1
        dist[:] = never
        done[:] = False
        dist[target] = 0
        size = 1
        heap[0], place[target] = target, 0
        while size > 0:
            x = heap[0]   # pop the minimum, sift down the last entry
            d = dist[x]
            place[x] = -1
            size -= 1
            if size > 0:
                last = heap[size]
                last_d = dist[last]
                k = 0
                while True:
                    child = 2 * k + 1
                    if child >= size:
                        break
                    if child + 1 < size and dist[heap[child + 1]] < dist[heap[child]]:
                        child += 1
                    if dist[heap[child]] >= last_d:
                        break
                    heap[k] = heap[child]
                    place[heap[k]] = k
                    k = child
                heap[k], place[last] = last, k
            if d > limit or (close >= 0 and d > best_value + limit):
                break   # beyond the limit, or no later cycle can be as negative (every violation ≤ limit)
            done[x] = True
            if close_arc[x] >= 0:   # the cycles closed through x: the most negative, first arc of equals
                value = close_red[x] + d
                if close < 0 or value < best_value or (value == best_value and close_arc[x] < close):
                    best_value, close = value, close_arc[x]
            for slot in range(start[x], start[x + 1]):
                if room[slot] <= 0:
                    continue
                y = other[slot]
                w = slot_cost[slot] + pot[x] - pot[y]
                if w < 0:
                    return -1
                nd = d + w
                if done[y] or nd >= dist[y]:
                    continue
                dist[y] = nd
                pred_slot[y] = slot
                k = place[y]   # push or decrease, sift up
                if k < 0:
                    k = size
                    size += 1
                while k > 0:
                    parent = (k - 1) >> 1
                    if dist[heap[parent]] <= nd:
                        break
                    heap[k] = heap[parent]
                    place[heap[k]] = k
                    k = parent
                heap[k], place[y] = y, k
        for i in range(size):   # the nodes left in the heap
            place[heap[i]] = -1
        for v in range(n):   # only settled nodes keep a distance (as scipy's limit)
            if not done[v]:
                dist[v] = never
        for e in entering:
            close_arc[tails[e]] = -1
        cap_d = limit
        if close >= 0 and best_value < 0:
            cap_d = dist[tails[close]]
            node = tails[close]
            while node != target:   # the path target → … → tail of `close`, walked backwards
                slot = pred_slot[node]
                arc = slot_arc[slot]
                if arc < a:
                    flow[arc] += 1
                    node = tails[arc]
                else:
                    flow[arc - a] -= 1
                    node = heads[arc - a]
                arc = arc if arc < a else arc - a
                room[forward_slot[arc]] = caps[arc] - flow[arc]
                room[backward_slot[arc]] = flow[arc]
            flow[close] += 1
        for e in entering:   # the violated arcs back in the graph, with their (maybe changed) room
            if bad[e]:
                room[forward_slot[e]] = caps[e] - flow[e]
                room[backward_slot[e]] = flow[e]
        for v in range(n):
            pot[v] += dist[v] if dist[v] < cap_d else cap_d
    return 0


def shortest_from_root(n_nodes: int, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, max_rounds: int,
                       start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """`flow.bellman_ford`, compiled: (distances, the nodes still changing, settled?). Rounds relax the arcs
    leaving the nodes whose distance changed in the round before, in place (so a round sees the changes of
    the same round: never more rounds than the numpy version needs); the settled distances are the same."""
    dist = (np.zeros(n_nodes, np.int64) if start is None else np.asarray(start, np.int64).copy())
    changing = np.zeros(n_nodes, np.int64)
    count, settled = compiled(_bellman_ford)(n_nodes, np.asarray(tails, np.int64), np.asarray(heads, np.int64),
                                             np.asarray(costs, np.int64), dist, int(max_rounds), start is None,
                                             changing)
    return dist, changing[:count], bool(settled)


def _bellman_ford(n, tails, heads, costs, dist, max_rounds, everyone, changing):  # noqa: ANN001, ANN202, C901
    """The kernel of `shortest_from_root`: returns (how many nodes of `changing` are set, settled?)."""
    m = len(tails)
    start, slot, _ = _arc_slots(n, tails, heads, False)
    head = np.empty(m, np.int64)
    cost = np.empty(m, np.int64)
    for e in range(m):
        head[slot[e]], cost[slot[e]] = heads[e], costs[e]
    frontier = np.empty(n, np.int64)
    following = np.empty(n, np.int64)
    queued = np.zeros(n, np.bool_)
    size = 0
    for v in range(n):   # the first round: every node (from 0), or the tails of the arcs `dist` violates
        take = everyone
        if not take:
            for k in range(start[v], start[v + 1]):
                if cost[k] + dist[v] - dist[head[k]] < 0:
                    take = True
                    break
        if take:
            frontier[size] = v
            size += 1
    for _ in range(max_rounds):
        if size == 0:
            return 0, True
        following_size = 0
        for i in range(size):
            v = frontier[i]
            base = dist[v]
            for k in range(start[v], start[v + 1]):
                y = head[k]
                candidate = base + cost[k]
                if candidate < dist[y]:
                    dist[y] = candidate
                    if not queued[y]:
                        queued[y] = True
                        following[following_size] = y
                        following_size += 1
        for i in range(following_size):
            queued[following[i]] = False
        frontier, following = following, frontier
        size = following_size
    if size == 0:
        return 0, True
    changing[:size] = frontier[:size]
    changing[:size].sort()
    return size, False


FLOW_MAX_COST = 255       # the compiled min-cost flow takes networks whose (shifted, divided) costs are 0..this
FLOW_MAX_PHASES = 1_000   # … and gives up (OR-Tools then solves) after this many shortest-path phases
FLOW_MAX_WORK = 80        # … or once it has read its residual slots this many times over (`min_cost_max_flow`)
_FLOW_DISTANCE = 1 << 20  # bucket queue length: a reduced distance beyond it gives up too


def min_cost_max_flow(n_nodes: int, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, costs: np.ndarray,
                      source: int, sink: int) -> np.ndarray | None:
    """A maximum flow from `source` to `sink` of least cost (what OR-Tools' `solve_max_flow_with_min_cost`
    returns, one of the same optima), for costs in 0..FLOW_MAX_COST; None when it gave up.

    Primal-dual (successive shortest paths, all at once): a Dijkstra over integer reduced costs with a bucket
    queue finds the sink's distance d and raises every potential by min(its distance, d); a depth-first search
    with current-arc pointers then augments along the arcs of reduced cost 0 until it finds no more. Each phase
    with d > 0 raises the cost of the cheapest augmenting path, so scores made of a few coarse terms (the usual
    kind: weights × overlaps, yes/no terms, ranks) need few phases. On the benchmark's 50,000-mentee networks
    with 30 candidates per mentee (1.57 M arcs) it took 1.9-2.3 s on the loose one (costs 0..72, 111 phases,
    its slots read 68 times over) where OR-Tools' cost scaling takes 5-6.5 s, and 0.5-0.8 s against 4.2 s on
    the tight one (costs 0..7); with 40 (2.07 M arcs), 1.85-2.05 s and 109 phases on the loose one.
    Spread-out costs need more phases (uniform random costs 0..63 on the same arcs: 4.7 s against OR-Tools'
    2.3 s), so it gives up after reading its slots FLOW_MAX_WORK times over (about OR-Tools' own time)."""
    costs, caps = np.asarray(costs, np.int64), np.asarray(caps, np.int64)
    if len(costs) and (costs.min() < 0 or costs.max() > FLOW_MAX_COST):
        raise ValueError(f"costs must lie in 0..{FLOW_MAX_COST}")
    if len(caps) and (caps.min() < 0 or caps.max() >= 2**31):
        raise ValueError("capacities must lie in 0..2**31 - 1")
    flow = np.zeros(len(tails), np.int64)
    done, _, _ = compiled(_primal_dual)(int(n_nodes), np.asarray(tails, np.int64),
                                        np.asarray(heads, np.int64), caps, costs, int(source), int(sink),
                                        _FLOW_DISTANCE, FLOW_MAX_PHASES, FLOW_MAX_WORK * 2 * len(tails), flow)
    return flow if done else None


def _primal_dual(n, tails, heads, caps, costs, source, sink, limit, max_phases, max_work, flow):  # noqa: ANN001, ANN202, C901, PLR0912, PLR0915
    """The kernel of `min_cost_max_flow`: returns (1 optimal / 0 gave up, phases run, slots read). The residual
    graph is one CSR of slots (each arc forward and backward: head, cost, room, the other slot)."""
    m = len(tails)
    start, fwd, bwd = _arc_slots(n, tails, heads, True)
    to = np.empty(2 * m, np.int32)
    cost = np.empty(2 * m, np.int32)
    room = np.empty(2 * m, np.int32)
    mate = np.empty(2 * m, np.int32)
    for e in range(m):
        f, b = fwd[e], bwd[e]
        to[f], cost[f], room[f], mate[f] = heads[e], costs[e], caps[e], b
        to[b], cost[b], room[b], mate[b] = tails[e], -costs[e], 0, f
    pi = np.zeros(n, np.int64)
    inf = np.iinfo(np.int64).max
    dist = np.full(n, inf, np.int64)
    done = np.zeros(n, np.bool_)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    where = np.full(n, -1, np.int64)
    bucket = np.full(limit, -1, np.int64)
    touched = np.empty(n, np.int64)
    state = np.zeros(n, np.int8)   # the search's marks: 0 open, 1 on the path, 2 dead (and 'reached' before)
    it = np.empty(n, np.int64)
    path = np.empty(n, np.int64)
    phases = 0
    work = 0
    while True:
        if phases >= max_phases or work > max_work:
            return 0, phases, work
        phases += 1
        # Dijkstra (Dial's buckets: doubly linked lists per distance) from the source under reduced costs,
        # until the sink is settled
        n_touched = 1
        touched[0] = source
        dist[source] = 0
        where[source] = 0
        bucket[0] = source
        nxt[source] = -1
        prv[source] = -1
        cur = 0
        top = 0
        found = False
        while cur <= top:
            v = bucket[cur]
            if v < 0:
                cur += 1
                continue
            w2 = nxt[v]
            bucket[cur] = w2
            if w2 >= 0:
                prv[w2] = -1
            where[v] = -1
            done[v] = True
            if v == sink:
                found = True
                break
            base = cur + pi[v]
            work += start[v + 1] - start[v]
            for s in range(start[v], start[v + 1]):
                if room[s] > 0:
                    w = to[s]
                    if done[w]:
                        continue
                    nd = base + cost[s] - pi[w]
                    if nd < dist[w]:
                        if nd >= limit:
                            return 0, phases, work
                        if dist[w] == inf:
                            touched[n_touched] = w
                            n_touched += 1
                        else:
                            b = where[w]
                            p, q = prv[w], nxt[w]
                            if p >= 0:
                                nxt[p] = q
                            else:
                                bucket[b] = q
                            if q >= 0:
                                prv[q] = p
                        dist[w] = nd
                        where[w] = nd
                        h = bucket[nd]
                        nxt[w] = h
                        prv[w] = -1
                        if h >= 0:
                            prv[h] = w
                        bucket[nd] = w
                        if nd > top:
                            top = nd
        d_sink = dist[sink] if found else 0
        for i in range(n_touched):
            v = touched[i]
            if where[v] >= 0:
                bucket[where[v]] = -1
                where[v] = -1
            if found:
                pi[v] += dist[v] if dist[v] < d_sink else d_sink
            dist[v] = inf
            done[v] = False
        if not found:
            break
        # the nodes not reached are raised by d_sink too (every reduced cost stays ≥ 0)
        state[:] = 0
        for i in range(n_touched):
            state[touched[i]] = 1
        for v in range(n):
            if state[v] == 0:
                pi[v] += d_sink
        # augment along admissible arcs (room > 0, reduced cost 0) by depth-first search with current-arc
        # pointers; a node is dead once its arcs are used up, and a node on the path is not entered twice
        it[:] = start[:n]
        state[:] = 0
        depth = 0
        v = source
        state[source] = 1
        while True:
            if v == sink:
                f = inf
                for i in range(depth):
                    if room[path[i]] < f:
                        f = room[path[i]]
                for i in range(depth):
                    s = path[i]
                    room[s] -= f
                    room[mate[s]] += f
                    state[to[s]] = 0
                depth = 0
                v = source
                state[source] = 1
                continue
            advanced = False
            end = start[v + 1]
            u, first = v, it[v]
            pv = pi[v]
            while it[v] < end:
                s = it[v]
                w = to[s]
                if room[s] > 0 and state[w] == 0 and cost[s] + pv - pi[w] == 0:
                    path[depth] = s
                    depth += 1
                    state[w] = 1
                    v = w
                    advanced = True
                    break
                it[v] += 1
            work += it[u] - first + 1
            if not advanced:
                state[v] = 2
                if depth == 0:
                    break
                depth -= 1
                v = to[mate[path[depth]]]
                it[v] += 1
    for e in range(m):
        flow[e] = caps[e] - room[fwd[e]]
    return 1, phases, work
