# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which replica goes where: greedy passes for any fleet, then an exact branch and bound where the
fleet is small enough to prove the best plan (docs/planner.md, "Placement").

Both work on the same decisions: each replica of each deployment, in a fixed order, goes to one
host that may hold it with one of the ways it fits there (fit.FitSearch.options), or stays unplaced.
Plans are compared with objective.Score. The greedy passes give a first plan quickly; the branch and
bound starts from the best of them and only keeps a plan that scores strictly higher, so its result
is never worse; it cuts branches that could add less than GAP to the value, so a finished search is
within GAP of the best plan. When it stops after MAX_WORK, a dynamic program over subsets
of up to EXACT_DECISIONS replicas proves the best plan, unless it outgrows MAX_STATES too: the plan
then says the optimum was not proven.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from ansible_collections.sovereign.stack.plugins.plugin_utils import eligibility, objective
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import Catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.fit import Fit, FitSearch, HostState, consume
from ansible_collections.sovereign.stack.plugins.plugin_utils.hosts import HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.memory import kv_cache_bytes
from ansible_collections.sovereign.stack.plugins.plugin_utils.plan_inputs import DeploymentRequest

# Up to this many replicas the exact dynamic program runs (its work grows as 3 to that power).
EXACT_DECISIONS = 12
# Work the branch and bound may do: each node counts the replicas left plus the hosts (what its
# bound and its moves look at), about 3 microseconds a unit; a count, not a clock, so that equal
# input always gives the same plan. 4 million units is a few seconds on one core.
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

    def options(self, index: int, name: str, state: HostState) -> list[Fit]:
        """FitSearch.options of request ``index`` on host ``name`` as it is, cached by shape and use."""
        search = self.searches[index]
        key = (id(search), self.shape[name], state.key())
        found = self._options.get(key)
        if found is None:
            found = search.options(state)
            self._options[key] = found
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
        self.moves: list[Move | None] = []
        self.position = {name: i for i, name in enumerate(sorted(problem.hosts))}
        self.cache: dict[tuple[object, ...], float | None] = {}

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

    def _bound(self, i: int, score: objective.Score) -> objective.Score:
        """No plan below this node scores more: each remaining decision placed at the best value any
        of its hosts still allows (hosts only fill up further down), none where no host has room."""
        problem = self.problem
        placed, value = score.placed, score.value
        best_now: dict[int, float | None] = {}
        for decision in problem.decisions[i:]:
            index = decision.request
            if index not in best_now:
                best_now[index] = self._best_now(index)
            best = best_now[index]
            if best is not None:
                priority = problem.requests[index].priority
                placed += priority
                value += priority * best
        return objective.Score(placed, round(value, 9), score.gpus_saved, score.bytes_saved)

    def _best_now(self, index: int) -> float | None:
        """The most valuable fit of request ``index`` on any of its hosts as they are now."""
        search = self.problem.searches[index]
        best: float | None = None
        for name in self.problem.eligible[index]:
            key = (id(search), self.problem.shape[name], self.states[name].key(), "best")
            if key not in self.cache:
                fit = search.best(self.states[name])
                self.cache[key] = None if fit is None else fit.value
            value = self.cache[key]
            if value is not None and (best is None or value > best):
                best = value
        return best

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
            state = self.states[name]
            shape = (problem.shape[name], problem.allowed[name], state.key())
            if shape in seen:
                continue
            seen.add(shape)
            for rank, fit in enumerate(problem.options(decision.request, name, state)):
                found.append(((-fit.value, rank, len(fit.slots), self.position[name]), Move(name, fit)))
        found.sort(key=lambda item: item[0])
        return [move for _key, move in found]

    def _visit(self, i: int, score: objective.Score, discrepancies: int | None) -> None:
        """Try every move of decision ``i`` below ``score``; with ``discrepancies``, at most that
        many moves other than the first one on the way down."""
        self.nodes += 1
        self.work += len(self.problem.decisions) - i + len(self.problem.hosts)
        if self.work > self.max_work:
            raise _Budget
        problem = self.problem
        if i == len(problem.decisions):
            if score > self.best.score:
                self.best = Result(list(self.moves), score, "exact")
            return
        bound = self._bound(i, score)
        best = self.best.score
        # Branches that cannot place more, and cannot add more than GAP to the value, are cut: the
        # result is within GAP of the best plan (docs/planner.md, "Placement").
        if bound.placed < best.placed or (
            bound.placed == best.placed and bound.value <= best.value * (1 + GAP)
        ):
            return
        decision = problem.decisions[i]
        request = problem.requests[decision.request]
        options = self._options(i)
        for rank, move in enumerate(options):
            left = _spend(discrepancies, 0 if rank == 0 else 1)
            if left is not None and left < 0:
                break
            state = self.states[move.host]
            saved = state.copy()
            consume(state, move.fit, label(request, decision.replica))
            self.moves.append(move)
            self._visit(i + 1, score + problem.score(decision, move.fit), left)
            self.moves.pop()
            self.states[move.host] = saved
        # Leaving the replica out is a discrepancy too, unless nothing fits it anyway.
        left = _spend(discrepancies, 1 if options else 0)
        if left is None or left >= 0:
            self.moves.append(None)
            self._visit(i + 1, score, left)
            self.moves.pop()


def _spend(discrepancies: int | None, cost: int) -> int | None:
    """Discrepancies left after a choice that costs ``cost`` (None: no limit)."""
    return None if discrepancies is None else discrepancies - cost


def branch_and_bound(problem: Problem, incumbent: Result, max_work: int = MAX_WORK) -> Result:
    """The best plan of ``problem``, starting from ``incumbent``; ``proven`` when the search finished."""
    return _BranchAndBound(problem, incumbent, max_work).run()


# One host's plans from decision i on: bit mask of the decisions it holds -> (score, how). ``how`` is
# None for "decision i skipped here" or the fit it takes, and the memo key of the plans after it.
_Plans = dict[int, tuple[objective.Score, "tuple[Fit | None, tuple[object, ...]]"]]


class _HostPlans:
    """For one host: the best way to hold each subset of the decisions (a bit mask), found by a
    memoised walk over the decisions in order (skip, or each way it fits the host as it is then)."""

    def __init__(self, problem: Problem, name: str, memo: dict[tuple[object, ...], _Plans]) -> None:
        self.problem = problem
        self.name = name
        self.memo = memo

    def plans(self) -> tuple[tuple[object, ...], _Plans]:
        """The memo key of the host's whole walk and its plans."""
        key = self._walk(0, HostState(self.problem.hosts[self.name]), 0)
        return key, self.memo[key]

    def moves(self, key: tuple[object, ...], mask: int) -> list[tuple[int, Fit]]:
        """The (decision, fit) pairs of the plan for ``mask`` under ``key``."""
        found = []
        while mask:
            i = cast(int, key[2])  # the memo key's third part is the decision index
            _score, (fit, child) = self.memo[key][mask]
            if fit is not None:
                found.append((i, fit))
                mask &= ~(1 << i)
            key = child
        return found

    def _walk(self, i: int, state: HostState, requests_here: int) -> tuple[object, ...]:
        problem = self.problem
        key = (problem.shape[self.name], problem.allowed[self.name], i, state.key(), requests_here)
        if key in self.memo:
            return key
        if len(self.memo) > MAX_STATES:
            raise _Budget
        plans: _Plans = {0: (objective.ZERO, (None, ()))}
        if i < len(problem.decisions):
            skipped = self._walk(i + 1, state, requests_here)
            plans = {mask: (score, (None, skipped)) for mask, (score, _how) in self.memo[skipped].items()}
            decision = problem.decisions[i]
            bit = 1 << decision.request
            if not requests_here & bit and self.name in problem.eligible_set[decision.request]:
                request = problem.requests[decision.request]
                for fit in problem.options(decision.request, self.name, state):
                    placed = state.copy()
                    consume(placed, fit, label(request, decision.replica))
                    gain = problem.score(decision, fit)
                    child = self._walk(i + 1, placed, requests_here | bit)
                    here = 1 << i
                    for mask, (score, _how) in self.memo[child].items():
                        total = gain + score
                        whole = mask | here
                        if whole not in plans or total > plans[whole][0]:
                            plans[whole] = (total, (fit, child))
        self.memo[key] = plans
        return key


def exact(problem: Problem) -> Result:
    """The best plan over every assignment (dynamic program over hosts): each host's best way to
    hold each subset of the decisions, combined host by host over disjoint subsets."""
    memo: dict[tuple[object, ...], _Plans] = {}
    best: dict[int, tuple[objective.Score, tuple[tuple[str, tuple[object, ...], int], ...]]] = {
        0: (objective.ZERO, ())
    }
    walkers = {}
    for name in sorted(problem.hosts):
        walker = _HostPlans(problem, name, memo)
        walkers[name] = walker
        key, plans = walker.plans()
        combined = dict(best)
        for mask, (score, chosen) in best.items():
            for subset, (gain, _how) in plans.items():
                if not subset or subset & mask:
                    continue
                whole = mask | subset
                total = score + gain
                if whole not in combined or total > combined[whole][0]:
                    combined[whole] = (total, (*chosen, (name, key, subset)))
        best = combined
    score, chosen = max(best.values(), key=lambda item: item[0])
    moves: list[Move | None] = [None] * len(problem.decisions)
    for name, key, subset in chosen:
        for i, fit in walkers[name].moves(key, subset):
            moves[i] = Move(name, fit)
    return Result(moves, score, "exact", proven=True)


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
