# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which replica goes where: greedy passes for any fleet, then an exact branch and bound where the
fleet is small enough to prove the best plan (docs/planner.md, "Placement").

Both work on the same decisions: each replica of each deployment, in a fixed order, goes to one
host that may hold it with one of the ways it fits there (fit.FitSearch.options), or stays unplaced.
Plans are compared with objective.Score. The greedy passes give a first plan quickly; the branch and
bound starts from the best of them and only keeps a plan that scores strictly higher, so its result
is never worse; it cuts branches that could add less than GAP to the value, so a finished search is
within GAP of the best plan. Its bound pools the fleet's scarce memory (GPU memory, the pool of a
unified host) and fills it as a fractional knapsack of the ways each replica left still fits: the
best plans of a contested fleet give some replica less than its best way, which a bound of each
replica alone never sees, so without it the search had to visit most plans near the best one. It
visits the children of a node with the highest bound first, and skips a node it reached before with
the same use of every host and no lower score. When it stops after MAX_WORK (nodes and the templates
checked against new host states, both counted, never timed), a dynamic program over subsets of up to
EXACT_DECISIONS replicas proves the best plan, unless it outgrows MAX_STATES too: the plan then says
the optimum was not proven.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import Catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import eligibility, objective
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fit import (
    Fit,
    FitSearch,
    HostState,
    consume,
    free_fast_bytes,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.memory import kv_cache_bytes
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import DeploymentRequest

# Up to this many replicas the exact dynamic program runs (its work grows as 3 to that power).
EXACT_DECISIONS = 12
# Work the branch and bound may do: each node counts the replicas left plus the hosts (what its
# bound and its moves look at), each child it ranks the replicas left, and each template checked
# against a host state not seen before one (Problem.fit_work: the node count alone let a search on a
# fleet of many ways run minutes); a count, not a clock, so that equal input always gives the same
# plan. 4 million units is some seconds on one core.
MAX_WORK = 4_000_000
# Relative value the branch and bound may leave unexplored: its plan is within this of the best.
GAP = 0.005
# Limited discrepancy dives before the full search.
DIVES = (0, 1, 2)
# States the dynamic program may remember before it gives up (memory and time both grow with them).
MAX_STATES = 200_000
# Fleets with more decisions x hosts than this skip the branch and bound: it could not finish.
EXACT_SEARCH_LIMIT = 2_000


@dataclass(frozen=True)
class Decision:
    """One replica to place: the deployment (by position in the problem) and the replica number."""

    request: int
    replica: int


@dataclass(frozen=True)
class Move:
    """Where a decision went: the host and the way it runs there."""

    host: str
    fit: Fit


@dataclass
class Result:
    """A plan of the decisions: a move or None per decision, its score, and how it was found."""

    moves: list[Move | None]
    score: objective.Score
    method: str
    nodes: int = 0
    proven: bool = False


def label(request: DeploymentRequest, replica: int) -> str:
    """How plans and messages name a replica: ``name`` or ``name#replica``."""
    return f"{request.name}#{replica}" if request.replicas > 1 else request.name


def size(request: DeploymentRequest) -> int:
    """Sort key for 'largest first': 16-bit weights plus the 16-bit KV cache requested."""
    model = request.model
    return int(model.params_total * 2 + kv_cache_bytes(model, request.context, request.concurrency, "fp16"))


def _signature(request: DeploymentRequest) -> tuple[object, ...]:
    """Everything but the name, pins of hosts and ports, replicas and priority: requests with equal
    signatures fit the same way everywhere, so they share one FitSearch and its caches."""
    return (
        request.model,
        request.context,
        request.concurrency,
        request.engine,
        request.quant,
        request.kv_cache_dtype,
        request.allow_context_reduction,
        request.allow_cpu_offload,
        request.prefer,
    )


_Found = TypeVar("_Found")
# The (fast bytes, value) points of a deployment's ways on a host, fewest bytes first (fit.py).
_Hull = tuple[tuple[int, float], ...]


class Problem:
    """The requests, the hosts each may use, and the shared searches."""

    def __init__(
        self,
        requests: Sequence[DeploymentRequest],
        hosts: Mapping[str, HostResources],
        catalog: Catalog,
        calibration: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        self.hosts = hosts
        self.requests = sorted(requests, key=lambda r: (r.hosts is None, -r.priority, -size(r), r.name))
        shared: dict[tuple[object, ...], FitSearch] = {}
        self.searches = [
            shared.setdefault(_signature(r), FitSearch(r, catalog, calibration)) for r in self.requests
        ]
        self.eligible = [eligibility.eligible(r, hosts, catalog)[0] for r in self.requests]
        self.eligible_set = [frozenset(names) for names in self.eligible]
        # Which requests each host may hold: hosts alike in shape and in this hold alike plans.
        self.allowed = {name: tuple(name in names for names in self.eligible_set) for name in sorted(hosts)}
        self._options: dict[tuple[object, ...], list[Fit]] = {}
        self._frontiers: dict[tuple[object, ...], _Hull] = {}
        # Templates checked against a host state on a cache miss: the branch and bound's work counts
        # them, as they, not its nodes, are what a search spends its time on.
        self.fit_work = 0
        self.decisions = [
            Decision(index, replica) for index, r in enumerate(self.requests) for replica in range(r.replicas)
        ]
        # Hosts with equal hardware share a shape: fits are computed once per shape and use.
        shapes: dict[tuple[object, ...], int] = {}
        self.shape = {name: shapes.setdefault(hosts[name].signature(), len(shapes)) for name in sorted(hosts)}
        # The most one replica of each request could be worth: its best template on any host shape.
        self.best_value = []
        for search, names in zip(self.searches, self.eligible):
            representatives = {self.shape[name]: hosts[name] for name in names}
            values = [t[0].value for host in representatives.values() if (t := search.templates(host))]
            self.best_value.append(max(values, default=0.0))

    def options(
        self, index: int, name: str, state: HostState, use: tuple[object, ...] | None = None
    ) -> list[Fit]:
        """FitSearch.options of request ``index`` on host ``name`` as it is, cached by shape and use
        (``use``: ``state.key()`` where the caller keeps it)."""
        return self._cached(self._options, FitSearch.options, index, name, state, use=use)

    def frontier(self, index: int, name: str, state: HostState) -> _Hull:
        """FitSearch.frontier of request ``index`` on host ``name`` as it is, cached like options."""
        return self._cached(self._frontiers, FitSearch.frontier, index, name, state, use=None)

    def _cached(
        self,
        store: dict[tuple[object, ...], _Found],
        compute: Callable[[FitSearch, HostState], _Found],
        index: int,
        name: str,
        state: HostState,
        *,
        use: tuple[object, ...] | None,
    ) -> _Found:
        """``compute`` of request ``index``'s FitSearch on ``state``, remembered in ``store`` by
        shape and use; each computation adds the templates it checks to fit_work."""
        search = self.searches[index]
        key = (id(search), self.shape[name], state.key() if use is None else use)
        found = store.get(key)
        if found is None:
            found = compute(search, state)
            store[key] = found
            self.fit_work += len(search.templates(state.resources))
        return found

    def bound(self) -> objective.Score:
        """No plan scores more: every replica placed at its best value, as if it had the fleet alone."""
        total = objective.ZERO
        for decision in self.decisions:
            priority = self.requests[decision.request].priority
            total = total + objective.Score(
                priority, round(priority * self.best_value[decision.request], 9), 0, 0
            )
        return total

    def states(self) -> dict[str, HostState]:
        """Empty states of every host."""
        return {name: HostState(self.hosts[name]) for name in sorted(self.hosts)}

    def score(self, decision: Decision, fit: Fit) -> objective.Score:
        """The contribution of placing ``decision`` with ``fit``."""
        priority = self.requests[decision.request].priority
        return objective.replica_score(priority, fit.value, len(fit.slots), fit.used_bytes())

    def exact_search_fits(self) -> bool:
        """Whether the branch and bound may run (it could not finish on a large fleet)."""
        return len(self.decisions) * len(self.hosts) <= EXACT_SEARCH_LIMIT


class _Fleet:
    """Host states during a greedy pass, grouped by (shape, use): hosts of a group are alike, so a
    request's fit is computed once per group, and only the first hosts of a group by name compete."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.states = problem.states()
        self.key = {name: (problem.shape[name], state.key()) for name, state in self.states.items()}
        self.groups: dict[object, list[str]] = {}
        for name in sorted(self.states):
            self.groups.setdefault(self.key[name], []).append(name)
        self.cache: dict[tuple[int, object], Fit | None] = {}

    def ranked(self, index: int, wanted: int) -> list[Move]:
        """The request's best ``wanted`` hosts as they are now, best first: value, then fewer GPUs,
        then the tightest fit (the most of the host left for others), then host name."""
        search = self.problem.searches[index]
        eligible = self.problem.eligible_set[index]
        ranked = []
        for key, names in self.groups.items():
            chosen = [name for name in names if name in eligible][:wanted]
            if not chosen:
                continue
            cached = (id(search), key)
            if cached not in self.cache:
                self.cache[cached] = search.best(self.states[chosen[0]])
            fit = self.cache[cached]
            if fit is not None:
                rank = (-fit.value, len(fit.slots), fit.budget_bytes - fit.used_bytes())
                ranked += [(rank, name, fit) for name in chosen]
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [Move(name, fit) for _rank, name, fit in ranked[:wanted]]

    def consume(self, move: Move, name: str) -> None:
        """Place ``move`` and move its host to the group of its new use."""
        state = self.states[move.host]
        old = self.key[move.host]
        self.groups[old].remove(move.host)
        if not self.groups[old]:
            del self.groups[old]
        consume(state, move.fit, name)
        new = (self.problem.shape[move.host], state.key())
        self.key[move.host] = new
        bisect.insort(self.groups.setdefault(new, []), move.host)


def greedy(problem: Problem, order: Sequence[int], method: str) -> Result:
    """Requests in ``order``, each replica on the best host still free for it."""
    fleet = _Fleet(problem)
    moves: dict[Decision, Move | None] = {}
    score = objective.ZERO
    for index in order:
        request = problem.requests[index]
        ranked = fleet.ranked(index, request.replicas)
        for replica in range(request.replicas):
            decision = Decision(index, replica)
            move = ranked[replica] if replica < len(ranked) else None
            moves[decision] = move
            if move is not None:
                fleet.consume(move, label(request, replica))
                score = score + problem.score(decision, move.fit)
    return Result([moves[d] for d in problem.decisions], score, method)


class _Budget(Exception):
    """The branch and bound did MAX_WORK, or the dynamic program remembered MAX_STATES states."""


class _BranchAndBound:
    def __init__(self, problem: Problem, incumbent: Result, max_work: int) -> None:
        self.problem = problem
        self.best = incumbent
        self.max_work = max_work
        self.work = 0
        self.nodes = 0
        self.states = problem.states()
        self.names = sorted(problem.hosts)
        # Each host's state.key() and free_fast_bytes, kept with its state: bounds read them often.
        self.keys = {name: state.key() for name, state in self.states.items()}
        self.free = {name: free_fast_bytes(state) for name, state in self.states.items()}
        self.moves: list[Move | None] = []
        self.position = {name: i for i, name in enumerate(self.names)}
        # The best score each node of the full search was reached with (dominance, see _visit).
        self.reached: dict[tuple[object, ...], objective.Score] = {}
        self.hulls: dict[tuple[object, ...], _Hull] = {}
        self.best_fits: dict[tuple[object, ...], float | None] = {}
        # Each request's hull over its templates on its empty hosts (see _frontiers).
        self.empty = [
            _hull([point for name in names for point in problem.frontier(index, name, self.states[name])])
            for index, names in enumerate(problem.eligible)
        ]

    def run(self) -> Result:
        try:
            # Limited discrepancy dives first (at most 1, then 2 choices other than the best one on
            # the way down): they find good plans early, which the full search then cuts against.
            for discrepancies in DIVES:
                self._visit(0, objective.ZERO, discrepancies)
            self._visit(0, objective.ZERO, None)
        except _Budget:
            return dataclasses.replace(self.best, nodes=self.nodes, proven=False)
        return dataclasses.replace(self.best, nodes=self.nodes, proven=True)

    def _frontiers(self, i: int) -> list[tuple[int, _Hull]]:
        """Each decision from ``i`` on that still fits some host: its priority and the upper concave
        hull of (fast bytes, value) over its templates on its empty hosts, cut at the most fast bytes
        any of its hosts has left and at the best value it still has on them (hosts only fill up
        further down, so no way above either can be chosen there). Checking every template against
        every new host state instead cost more than the nodes it saved."""
        problem = self.problem
        hulls: dict[int, _Hull] = {}
        found = []
        for decision in problem.decisions[i:]:
            index = decision.request
            if index not in hulls:
                best = self._best_now(index)
                if best is None:
                    hulls[index] = ()
                else:
                    room = max(self.free[name] for name in problem.eligible[index])
                    key = (index, room, best)
                    if key not in self.hulls:
                        self.hulls[key] = _clip(self.empty[index], room, best)
                    hulls[index] = self.hulls[key]
            if hulls[index]:
                found.append((problem.requests[index].priority, hulls[index]))
        return found

    def _best_now(self, index: int) -> float | None:
        """The most valuable fit of request ``index`` on any of its hosts as they are now."""
        search = self.problem.searches[index]
        best: float | None = None
        for name in self.problem.eligible[index]:
            key = (id(search), self.problem.shape[name], self.keys[name])
            if key not in self.best_fits:
                fit = search.best(self.states[name])
                self.best_fits[key] = None if fit is None else fit.value
            value = self.best_fits[key]
            if value is not None and (best is None or value > best):
                best = value
        return best

    def _bound(self, i: int, score: objective.Score) -> tuple[int, float]:
        """The most placed, and the most value with that many placed, of any plan below this node.

        Two bounds: every decision left placed at its best value on the hosts as they are now (each
        host as if alone), then the same decisions sharing the fleet's scarce memory (GPU memory, and
        the pool of unified hosts) as a fractional knapsack, which sees that not every replica can
        have its largest way at once: the plans the first bound lets through are mostly ones where
        the GPUs are the contested resource (docs/planner.md, "Placement").
        """
        items = self._frontiers(i)
        placed = score.placed + sum(priority for priority, _hull_points in items)
        value = score.value + sum(priority * points[-1][1] for priority, points in items)
        if self._cut((placed, value)):
            # The first bound suffices (the best plan only improves, so it cuts here later too).
            return placed, value
        capacity = sum(self.free.values())
        most = score.placed + _most_placed(items, capacity)
        if most < placed:
            # Some decision must be left out, but which is open: the first bound on value stands.
            return most, value
        shared = _relaxed_value(items, capacity)
        if shared is None:
            return placed - 1, value
        return placed, min(value, score.value + shared)

    def _cut(self, bound: tuple[int, float]) -> bool:
        """Whether no plan under ``bound`` can place more than the best plan, or as many and add more
        than GAP to its value (the search is then within GAP of the best plan)."""
        best = self.best.score
        placed, value = bound
        return placed < best.placed or (placed == best.placed and value <= best.value * (1 + GAP))

    def _options(self, i: int) -> list[Move]:
        """The moves of decision ``i``: every way it fits each allowed host, best first. Hosts with
        equal hardware, equal use and the same deployments allowed are interchangeable, so only the
        first of them is tried."""
        problem = self.problem
        decision = problem.decisions[i]
        # Replicas of one deployment are interchangeable: each goes to a later host than the one before.
        after = -1
        if decision.replica > 0:
            previous = self.moves[i - 1]
            if previous is None:
                return []
            after = self.position[previous.host]
        seen: set[tuple[object, ...]] = set()
        found: list[tuple[tuple[object, ...], Move]] = []
        for name in problem.eligible[decision.request]:
            if self.position[name] <= after:
                continue
            use = self.keys[name]
            shape = (problem.shape[name], problem.allowed[name], use)
            if shape in seen:
                continue
            seen.add(shape)
            for rank, fit in enumerate(problem.options(decision.request, name, self.states[name], use)):
                found.append(((-fit.value, rank, len(fit.slots), self.position[name]), Move(name, fit)))
        found.sort(key=lambda item: item[0])
        return [move for _key, move in found]

    def _dominated(self, i: int, score: objective.Score) -> bool:
        """Whether the full search was here before (same decision, same use of every host, same host
        for the replica before) with a score at least as high: what it found below, or cut, from
        there is all this node could find."""
        decision = self.problem.decisions[i] if i < len(self.problem.decisions) else None
        previous = self.moves[i - 1] if decision is not None and decision.replica > 0 else None
        key = (i, None if previous is None else previous.host, tuple(self.keys[name] for name in self.names))
        reached = self.reached.get(key)
        if reached is not None and score <= reached:
            return True
        self.reached[key] = score
        return False

    def _place(self, move: Move, name: str) -> HostState:
        """Apply ``move`` (the replica ``name``) to a copy of its host's state; the old state."""
        state = self.states[move.host]
        placed = state.copy()
        consume(placed, move.fit, name)
        self._restore(move.host, placed)
        return state

    def _restore(self, host: str, state: HostState) -> None:
        """Make ``state`` the state of ``host``, with its key and free fast bytes."""
        self.states[host] = state
        self.keys[host] = state.key()
        self.free[host] = free_fast_bytes(state)

    def _visit(
        self,
        i: int,
        score: objective.Score,
        discrepancies: int | None,
        bound: tuple[int, float] | None = None,
    ) -> None:
        """Try every move of decision ``i`` below ``score``, the children with the highest bound
        first; with ``discrepancies``, at most that many moves other than the first one on the way
        down. ``bound``: this node's _bound, when its parent computed it to order its children."""
        problem = self.problem
        self.nodes += 1
        # Work in units of about the same time: the node's own (its bound and moves look at the
        # decisions left and the hosts) and the templates checked against a new host state.
        self.work += len(problem.decisions) - i + len(problem.hosts)
        if self.work + problem.fit_work > self.max_work:
            raise _Budget
        if i == len(problem.decisions):
            if score > self.best.score:
                self.best = Result(list(self.moves), score, "exact")
            return
        # A dive sees only part of the tree below a node, so only the full search remembers nodes.
        if discrepancies is None and self._dominated(i, score):
            return
        if self._cut(bound or self._bound(i, score)):
            return
        decision = problem.decisions[i]
        request = problem.requests[decision.request]
        name = label(request, decision.replica)
        options = self._options(i)
        # The most promising child first: a good plan found early lets the bound cut the rest; the
        # best plan of a fleet often gives some replica less than its best way, which the order of
        # value alone tries late.
        children = []
        for rank, move in enumerate(options):
            state = self._place(move, name)
            child = score + problem.score(decision, move.fit)
            self.work += len(problem.decisions) - i
            children.append((self._bound(i + 1, child), rank, move, child))
            self._restore(move.host, state)
        children.sort(key=lambda item: (-item[0][0], -item[0][1], item[1]))
        for order, (child_bound, _rank, move, child) in enumerate(children):
            left = _spend(discrepancies, 0 if order == 0 else 1)
            if left is not None and left < 0:
                break
            state = self._place(move, name)
            self.moves.append(move)
            self._visit(i + 1, child, left, child_bound)
            self.moves.pop()
            self._restore(move.host, state)
        # Leaving the replica out is a discrepancy too, unless nothing fits it anyway.
        left = _spend(discrepancies, 1 if options else 0)
        if left is None or left >= 0:
            self.moves.append(None)
            self._visit(i + 1, score, left)
            self.moves.pop()


def _hull(points: Sequence[tuple[int, float]]) -> _Hull:
    """The upper concave hull of (bytes, value) points: the fewest bytes for each value, and of those
    only the points no mix of two others beats (a fractional knapsack never takes the others)."""
    hull: list[tuple[int, float]] = []
    for used, value in sorted(points, key=lambda point: (point[0], -point[1])):
        if hull and value <= hull[-1][1]:
            continue
        while len(hull) >= 2:
            (used_a, value_a), (used_b, value_b) = hull[-2], hull[-1]
            # b is under the chord from a to the new point: the chord is worth more at b's bytes.
            if (value_b - value_a) * (used - used_a) <= (value - value_a) * (used_b - used_a):
                hull.pop()
            else:
                break
        hull.append((used, value))
    return tuple(hull)


def _clip(hull: _Hull, room: int, best: float) -> _Hull:
    """``hull`` cut at ``room`` bytes and at value ``best`` (still concave: the least of it and a
    constant); where the first point is already above, the cheapest way at value ``best``."""
    found: list[tuple[int, float]] = []
    for used, value in hull:
        if used <= room and value <= best:
            found.append((used, value))
            continue
        if not found:
            return ((min(used, room), best),)
        before_used, before_value = found[-1]
        share = 1.0
        if used > room:
            share = min(share, (room - before_used) / (used - before_used))
        if value > best:
            share = min(share, (best - before_value) / (value - before_value))
        end = before_used + int(share * (used - before_used))
        if end > before_used:
            found.append((end, before_value + share * (value - before_value)))
        break
    return tuple(found)


def _most_placed(items: Sequence[tuple[int, _Hull]], capacity: int) -> int:
    """The most priority-weighted replicas of ``items`` the fleet's scarce memory could hold, each in
    its smallest way, with the memory pooled across hosts and the last replica counted in part."""
    total = 0.0
    for priority, points in sorted(items, key=lambda item: _density(item[0], item[1][0][0])):
        smallest = points[0][0]
        if smallest <= capacity:
            capacity -= smallest
            total += priority
        else:
            total += priority * capacity / smallest
            break
    return int(total + 1e-9)


def _density(priority: int, used: int) -> float:
    """Sort key for _most_placed: the most priority per byte first (none needed: first of all)."""
    return -priority / used if used else -float("inf")


def _relaxed_value(items: Sequence[tuple[int, _Hull]], capacity: int) -> float | None:
    """The most value ``items`` could add if each is placed (the fractional multiple-choice knapsack
    over the fleet's scarce memory pooled across hosts), None when they cannot all be placed."""
    value = sum(priority * points[0][1] for priority, points in items)
    room = capacity - sum(points[0][0] for _priority, points in items)
    if room < 0:
        return None
    steps = sorted(
        (
            (priority * (after[1] - before[1]) / (after[0] - before[0]), after[0] - before[0])
            for priority, points in items
            for before, after in zip(points, points[1:])
        ),
        reverse=True,
    )
    for slope, used in steps:
        if used <= room:
            room -= used
            value += slope * used
        else:
            value += slope * room
            break
    # Float sums may round down: a bound must not fall below the value a plan reaches.
    return value + 1e-7


def _spend(discrepancies: int | None, cost: int) -> int | None:
    """Discrepancies left after a choice that costs ``cost`` (None: no limit)."""
    return None if discrepancies is None else discrepancies - cost


def branch_and_bound(problem: Problem, incumbent: Result, max_work: int = MAX_WORK) -> Result:
    """The best plan of ``problem``, starting from ``incumbent``; ``proven`` when the search finished."""
    return _BranchAndBound(problem, incumbent, max_work).run()


# One host's ways of holding one subset of the decisions: the score, the host's use, the moves.
_Entry = tuple[objective.Score, HostState, tuple[tuple[int, Fit], ...]]
# One host's best way of holding each subset (bit mask) of the decisions: its score and moves.
_Plans = dict[int, tuple[objective.Score, tuple[tuple[int, Fit], ...]]]


def _use(state: HostState) -> tuple[int, ...]:
    """What a host has given away, per resource: bytes of each GPU and of the pool, and each GPU an
    exclusive engine holds (1), so that less in every place is a host that can take more."""
    return (
        *state.gpu_used,
        *(0 if holder is None else 1 for holder in state.gpu_holder),
        state.pool_used,
    )


def _pareto(entries: list[_Entry]) -> list[_Entry]:
    """The entries no other beats: one that scores no more than another and uses no less of anything
    can only lead to plans that the other leads to as well, or to better ones."""
    kept: list[tuple[_Entry, tuple[int, ...]]] = []
    for entry in sorted(entries, key=lambda item: item[0], reverse=True):
        use = _use(entry[1])
        if not any(all(a <= b for a, b in zip(other, use)) for _kept, other in kept):
            kept.append((entry, use))
    return [entry for entry, _use_of in kept]


class _HostPlans:
    """For each host shape and the deployments it may hold: the best way to hold each subset of the
    decisions (a bit mask), found decision by decision (skip it, or each way it fits the host as it is
    then), keeping per subset only the ways that no other beats in score and use (_pareto)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.states = 0
        self.cache: dict[tuple[object, ...], _Plans] = {}
        # The decisions of each request: two replicas of one deployment never share a host.
        self.siblings: dict[int, int] = {}
        for i, decision in enumerate(problem.decisions):
            self.siblings[decision.request] = self.siblings.get(decision.request, 0) | 1 << i

    def plans(self, name: str) -> _Plans:
        """Bit mask of decisions -> the best score of host ``name`` holding them and its moves."""
        problem = self.problem
        key = (problem.shape[name], problem.allowed[name])
        if key not in self.cache:
            self.cache[key] = self._walk(name)
        return self.cache[key]

    def _walk(self, name: str) -> _Plans:
        problem = self.problem
        layers: dict[int, list[_Entry]] = {0: [(objective.ZERO, HostState(problem.hosts[name]), ())]}
        for i, decision in enumerate(problem.decisions):
            if name not in problem.eligible_set[decision.request]:
                continue
            request = problem.requests[decision.request]
            grown: dict[int, list[_Entry]] = {}
            for mask, entries in layers.items():
                if mask & self.siblings[decision.request]:
                    continue
                for score, state, moves in entries:
                    for fit in problem.options(decision.request, name, state):
                        placed = state.copy()
                        consume(placed, fit, label(request, decision.replica))
                        grown.setdefault(mask | 1 << i, []).append(
                            (score + problem.score(decision, fit), placed, (*moves, (i, fit)))
                        )
            for mask, entries in grown.items():
                layers[mask] = _pareto(entries)
                self.states += len(layers[mask])
                if self.states > MAX_STATES:
                    raise _Budget
        return {mask: (entries[0][0], entries[0][2]) for mask, entries in layers.items()}


def exact(problem: Problem) -> Result:
    """The best plan over every assignment (dynamic program over hosts): each host's best way to
    hold each subset of the decisions, combined host by host over disjoint subsets."""
    walker = _HostPlans(problem)
    full = (1 << len(problem.decisions)) - 1
    best: dict[int, tuple[objective.Score, tuple[tuple[str, int], ...]]] = {0: (objective.ZERO, ())}
    for name in sorted(problem.hosts):
        plans = walker.plans(name)
        combined = dict(best)
        for mask, (score, chosen) in best.items():
            for subset in _disjoint(plans, full & ~mask):
                whole = mask | subset
                total = score + plans[subset][0]
                if whole not in combined or total > combined[whole][0]:
                    combined[whole] = (total, (*chosen, (name, subset)))
        best = combined
    score, chosen = max(best.values(), key=lambda item: item[0])
    moves: list[Move | None] = [None] * len(problem.decisions)
    for name, subset in chosen:
        for i, fit in walker.plans(name)[subset][1]:
            moves[i] = Move(name, fit)
    return Result(moves, score, "exact", proven=True)


def _disjoint(plans: Mapping[int, object], free: int) -> list[int]:
    """The non-empty masks of ``plans`` within ``free``: its submasks looked up, or its masks
    filtered, whichever is fewer steps."""
    if 1 << bin(free).count("1") > len(plans):
        return [mask for mask in plans if mask and not mask & ~free]
    found = []
    subset = free
    while subset:
        if subset in plans:
            found.append(subset)
        subset = (subset - 1) & free
    return found


def solve(problem: Problem) -> Result:
    """Greedy largest first; smallest first too when replicas are left over; then the exact search
    where the fleet is small enough. The best result wins (ties keep the earlier one)."""
    largest = list(range(len(problem.requests)))
    best = greedy(problem, largest, "greedy, largest first")
    if any(move is None for move in best.moves):
        smallest = sorted(
            largest,
            key=lambda i: (
                problem.requests[i].hosts is None,
                -problem.requests[i].priority,
                size(problem.requests[i]),
            ),
        )
        other = greedy(problem, smallest, "greedy, smallest first")
        if other.score > best.score:
            best = other
    if not problem.exact_search_fits():
        return best
    best = branch_and_bound(problem, best)
    if not best.proven and len(problem.decisions) <= EXACT_DECISIONS:
        try:
            found = exact(problem)
        except _Budget:
            return best
        best = found if found.score > best.score else dataclasses.replace(best, proven=True)
    return best
