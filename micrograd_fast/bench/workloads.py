"""The workloads W1..W5, and ``WORKLOADS``: the one table of them that the command line,
the report and the pytest-benchmark suite in ``benchmarks/`` all read.

Each workload is a ``Job`` class: made for one engine (a backend, see ``peers``) and
the sizes, it is ready to measure. ``run()`` is what is measured; ``setup()`` and
``teardown()`` run before and after it, unmeasured (building the graph that W2 walks
back, freeing what W1 built). Every size is a parameter and every random choice seeded.
"""

import gc
import random
import weakref
from dataclasses import dataclass

from .. import training
from .peers import PEERS

SEED = training.SEED
LR_STEPS = 100  # the learning rate schedule's length, as in micrograd's demo


@dataclass(frozen=True)
class Sizes:
    chains: int = 2000       # W1/W2: independent chains ...
    chain_steps: int = 50    # ... of this many steps ...
    leaves: int = 200        # ... each step reading one of these leaves
    deep_steps: int = 100_000  # W3: length of the chain
    points: int = 100        # W4: moons points per training step
    products: int = 1_000_000  # W5: product nodes ...
    product_leaves: int = 1000  # ... over this many leaves

    def scaled(self, factor):
        """These sizes times ``factor`` (at least a handful of everything)."""
        return Sizes(chains=max(2, round(self.chains * factor)), chain_steps=self.chain_steps,
                     leaves=self.leaves, deep_steps=max(10, round(self.deep_steps * factor)),
                     points=max(4, round(self.points * factor)),
                     products=max(100, round(self.products * factor)),
                     product_leaves=self.product_leaves)


class Job:
    """One workload on one backend; ``per`` is what one run counts (op calls, steps, nodes).

    ``checksums()`` gives its numbers on a small instance, lists of floats, one per kind
    (outputs, gradients, ...): before timing, the bench compares them across engines.
    """

    per = 1

    def __init__(self, backend, sizes, collector_on=False):
        self.backend, self.collector_on = backend, collector_on
        self.data, self.grad = backend.data, backend.grad

    def setup(self):
        pass

    def run(self):
        raise NotImplementedError

    def teardown(self):
        pass


# -- W1 forward, W2 backward ---------------------------------------------------

def forward_plan(sizes, seed=SEED):
    """The leaf values and, per chain, its start leaf and (op, leaf) steps: drawn before timing."""
    rng = random.Random(seed)
    leaf_values = [rng.uniform(-1.0, 1.0) for _ in range(sizes.leaves)]
    chains = [(rng.randrange(sizes.leaves),
               [(rng.randrange(4), rng.randrange(sizes.leaves)) for _ in range(sizes.chain_steps)])
              for _ in range(sizes.chains)]
    return leaf_values, chains


def op_calls(sizes):
    """What W1 and W2 are reported per: every chain step and every addition of the final sum."""
    return sizes.chains * sizes.chain_steps + sizes.chains - 1


def build_forward(leaves, chains, relu=None):
    """W1: run every chain, then add the chain ends as a balanced tree; returns (ends, root).

    Every op is called as users write it (``x.relu()``); ``relu`` is for plain floats,
    which have no methods.
    """
    ends = []
    for start, steps in chains:
        x = leaves[start]
        for op, j in steps:
            if op == 0:
                x = (x + leaves[j]) * 0.5
            elif op == 1:
                x = x * leaves[j]
            elif op == 2:
                x = x ** 2
            else:
                x = x.relu() if relu is None else relu(x)
        ends.append(x)
    return ends, pairwise_sum(ends)


def pairwise_sum(xs):
    while len(xs) > 1:
        pairs = [xs[i] + xs[i + 1] for i in range(0, len(xs) - 1, 2)]
        if len(xs) % 2:
            pairs.append(xs[-1])
        xs = pairs
    return xs[0]


class Forward(Job):
    """W1: build the graph; it is freed after the clock stops."""

    def __init__(self, backend, sizes, collector_on=False):
        super().__init__(backend, sizes, collector_on)
        leaf_values, self.chains = forward_plan(sizes)
        self.leaves = [backend.Value(v) for v in leaf_values]
        self.relu = backend.relu
        self.per = op_calls(sizes)
        self.graph = None

    def build(self):
        return build_forward(self.leaves, self.chains, self.relu)

    def run(self):
        self.graph = self.build()

    def teardown(self):
        self.graph = None
        gc.collect()  # pure and micrograd nodes sit in reference cycles

    def checksums(self):
        ends, root = self.build()
        return [[self.data(e) for e in ends], [self.data(root)]]


class Backward(Forward):
    """W2: ``backward()`` on a W1 graph built just before."""

    def setup(self):
        self.graph = self.build()

    def run(self):
        self.graph[1].backward()

    def checksums(self):
        _, root = self.build()
        root.backward()
        return [[self.grad(leaf) for leaf in self.leaves]]


# -- W3 deep chain -------------------------------------------------------------

class _Probe:
    """Kept in one object's __dict__ and nowhere else: it lives as long as that object."""


def watch(v):
    """A weak reference that dies with v: to v itself, or, for a Value that has no weak
    references (micrograd_fast's), to a probe kept in its __dict__ (the tests and the
    fuzzer watch nodes with it too)."""
    try:
        return weakref.ref(v)
    except TypeError:
        v._alive_probe = probe = _Probe()
        return weakref.ref(probe)


def deep_chain(backend, steps):
    """W3: ``x = x*1.0001 + 0.1`` ``steps`` times, backward, then free the chain.

    When dropping the last reference does not free the chain, freeing includes
    ``gc.collect()``: the pure engine's and micrograd's nodes sit in reference cycles
    (each node's ``_backward`` closure holds the node), so only the collector frees
    them. Plain floats have no graph to differentiate or free.
    Returns ``(x.data, leaf.grad)``.
    """
    leaf = backend.Value(1.0)
    x = leaf
    for _ in range(steps):
        x = x * 1.0001 + 0.1
    if not backend.differentiable:
        return backend.data(x), None
    x.backward()
    result = backend.data(x), backend.grad(leaf)
    still_alive = watch(x)
    del x
    if still_alive() is not None:
        gc.collect()
    return result


class DeepChain(Job):
    """W3: build, backward and free (the collection included) the deep chain."""

    def __init__(self, backend, sizes, collector_on=False):
        super().__init__(backend, sizes, collector_on)
        self.per = sizes.deep_steps

    def setup(self):
        gc.collect()

    def run(self):
        deep_chain(self.backend, self.per)

    def checksums(self):
        out, leaf_grad = deep_chain(self.backend, self.per)
        return [[out]] if leaf_grad is None else [[out], [leaf_grad]]


# -- W4 training ---------------------------------------------------------------

class Training(Job):
    """W4: micrograd's demo training (``micrograd_fast.training``), one step per run.

    Collector off: the step's graph is freed (and collected) after the clock stops.
    On, as users run it: the previous step's graph is freed inside the step, when
    its result is replaced, as in a loop. A replayed graph (and the matrices of W4B)
    is never freed: it is the same every step, so no collection runs between its
    steps either (it would find nothing, and only empty the processor's caches).
    """

    fused = False  # W4 builds micrograd's graph: a * and a + node per weight
    replayed = False
    rebuilds = True  # a new graph each step, to be freed

    def __init__(self, backend, sizes, collector_on=False):
        super().__init__(backend, sizes, collector_on)
        self.k = 0
        self.result = None
        X, y = training.moons(sizes.points)
        self.training = self.make_training(backend, X, y)

    def make_training(self, backend, X, y):
        self.model = backend.mlp(fused=self.fused)
        return training.Training(self.model, X, y, LR_STEPS, backend.constant,
                                 Graph=backend.Graph if self.replayed else None,
                                 zero_grad=backend.zero_grad)

    def run(self):
        self.result = self.training.step(self.k)
        self.k += 1

    def teardown(self):
        if not self.collector_on and self.rebuilds:
            self.result = None
            gc.collect()

    def checksums(self, steps=3):
        losses = [self.data(self.training.step(k)[0]) for k in range(steps)]
        params = self.model.parameters()
        return [losses, [self.data(p) for p in params], [self.grad(p) for p in params]]


class FusedTraining(Training):
    """W4F: the same training, each Neuron one ``Value.dot`` node (micrograd_fast.nn's default)."""

    fused = True


class ReplayedTraining(FusedTraining):
    """W4R: W4F's graph built once and replayed every step, as a user who wants speed writes
    it (``training.Training`` with micrograd_fast's ``Graph``): ``Graph(loss, inputs=...)``,
    ``graph.forward(points)``, ``optim.SGD``'s ``zero_grad()`` and ``step()``."""

    replayed = True
    rebuilds = False


class MatrixTraining(Training):
    """W4B: the same training written as matrices over the batch (numpy, PyTorch)."""

    rebuilds = False

    def make_training(self, backend, X, y):
        training = backend.batched(X, y, LR_STEPS)
        self.model = training
        return training

    def checksums(self, steps=3):
        losses = [self.data(self.training.step(k)[0]) for k in range(steps)]
        return [losses, self.training.parameters(), self.training.gradients()]


# -- W5 memory -----------------------------------------------------------------

def product_leaves(backend, sizes, seed=SEED):
    rng = random.Random(seed)
    return [backend.Value(rng.uniform(-1.0, 1.0)) for _ in range(sizes.product_leaves)]


def fill_products(leaves, holder):
    """W5: ``holder[i] = x[i] * x[(i + 7) % n]`` for every slot of the pre-allocated ``holder``."""
    n = len(leaves)
    for i in range(len(holder)):
        holder[i] = leaves[i % n] * leaves[(i + 7) % n]


class Products(Job):
    """W5: ``sizes.products`` product nodes fill a list allocated beforehand (not counted)."""

    def __init__(self, backend, sizes, collector_on=False):
        super().__init__(backend, sizes, collector_on)
        self.leaves = product_leaves(backend, sizes)
        self.per = sizes.products
        self.holder = None

    def setup(self):
        self.holder = [None] * self.per

    def run(self):
        fill_products(self.leaves, self.holder)

    def teardown(self):
        self.holder = None
        gc.collect()

    def checksums(self):
        self.setup()
        self.run()
        return [[self.data(v) for v in self.holder]]


# -- the table -------------------------------------------------------------------

VALUE_ENGINES = ("pure", "compiled", "micrograd", "torch", "other")  # "other": any module
FAST_ENGINES = ("pure", "compiled")  # with a fused neuron (Value.dot) and a replayable Graph


@dataclass(frozen=True)
class Workload:
    id: str
    title: str  # plain words, formatted with the sizes
    unit: str  # a key of UNITS
    job: type  # a Job class: job(backend, sizes, collector_on)
    engines: tuple  # the engines it runs on ("other": any module with a Value)
    same_as: str = ""  # the workload whose numbers it gives, when it is another way to run it
    collector: tuple = (False,)  # its rows: with the garbage collector off, and on

    @property
    def memory(self):
        return self.job is Products


UNITS = {"ns per operation": 1.0, "ns per step": 1.0, "ms per training step": 1e-6,
         "bytes per node": 1.0}  # the unit per nanosecond (per byte for memory)
OFF_AND_ON = (False, True)

WORKLOADS = (
    Workload("W1", "build a graph: +, *, **2, x.relu()", "ns per operation", Forward,
             ("floats",) + VALUE_ENGINES),
    Workload("W2", "backward() through that graph", "ns per operation", Backward, VALUE_ENGINES),
    Workload("W3", "{deep_steps}-step chain, with backward()", "ns per step", DeepChain,
             ("floats",) + VALUE_ENGINES),
    Workload("W4", "graph rebuilt each step", "ms per training step", Training, VALUE_ENGINES,
             collector=OFF_AND_ON),
    Workload("W4F", "one node per neuron, rebuilt", "ms per training step", FusedTraining,
             FAST_ENGINES, same_as="W4", collector=OFF_AND_ON),
    Workload("W4R", "graph built once and replayed", "ms per training step", ReplayedTraining,
             FAST_ENGINES, same_as="W4", collector=OFF_AND_ON),
    Workload("W4B", "the batch as matrices", "ms per training step", MatrixTraining,
             ("numpy", "torch"), same_as="W4", collector=OFF_AND_ON),
    Workload("W5", "memory of {products} product nodes", "bytes per node", Products,
             VALUE_ENGINES),
)


@dataclass(frozen=True)
class Row:
    """A line of the table: a workload, with the garbage collector off or on."""

    id: str
    workload: Workload
    collector_on: bool


def rows_of(workload):
    if len(workload.collector) == 1:
        return [Row(workload.id, workload, workload.collector[0])]
    return [Row(workload.id + ("on" if on else "off"), workload, on) for on in workload.collector]


ROWS = {row.id: row for workload in WORKLOADS for row in rows_of(workload)}
BY_ID = {workload.id: workload for workload in WORKLOADS}


def runs_on(workload, engine):
    """Whether ``workload`` runs on ``engine`` (any name outside ``PEERS`` is an "other")."""
    return engine in workload.engines or (engine not in PEERS and "other" in workload.engines)
