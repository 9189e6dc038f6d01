"""The names of the per-epoch training clocks a run table may record.

Kept apart from :mod:`hasbench.tables.runtable` (which re-exports it) so that loading and
querying a surrogate, which checks the clock its manifest names, does not import h5py.
"""

#: per-epoch cost arrays a run may carry, in the order :attr:`RunTable.cost_metric` prefers
#: them (``epoch_time``, the wall time, is always present)
COST_METRICS = ("cuda_time", "cpu_time", "epoch_time")
