"""
Recorder for pyNN.gpu.

During a run, spikes and sampled variables are written into buffers on the target and
fetched once at the end of each run() (see Engine._collect_recordings). This class keeps
what was fetched for the current segment and hands it to PyNN's Neo machinery.

Samples are kept with the time of their first row, and a signal places them on its grid
from the recording's start: a variable (or a cell) whose recording starts during a
segment has no values (NaN) before that. Likewise the spikes of a cell added to spike
recording during a segment count from then on. record(None) drops what the segment had
recorded, as a simulator that replaces its recording devices would.
"""

import math

import neo
import numpy as np
import quantities as pq
from pyNN import errors, recording

from . import simulator


def _filter_by_variables(segment, variables):
    """
    A segment with only the recordings of `variables` (PyNN Variables, or 'all'): what
    PyNN's Recorder.get asks of pyNN.recording.filter_by_variables for the segments of
    earlier runs. PyNN 0.13's own compares signal names with Variables (so it keeps no
    signal) and assigns into the lists of a shallow copy that it shares with the cached
    segment (so it empties the cache); this one builds a new segment.
    """
    if variables == "all":
        return segment
    names = {getattr(variable, "name", variable) for variable in variables}
    filtered = _empty_like(segment)
    if "spikes" in names:
        filtered.spiketrains.extend(segment.spiketrains)
    filtered.analogsignals.extend([sig for sig in segment.analogsignals if sig.name in names])
    filtered.irregularlysampledsignals.extend(
        [sig for sig in segment.irregularlysampledsignals if sig.name in names])
    return filtered


def _filter_by_cells(segment, ids):
    """A segment with only the recordings of the cells `ids` (a view's): what PyNN's
    Recorder.get leaves out for the segments of earlier runs."""
    ids = np.asarray(ids, dtype=np.int64)
    wanted = set(ids.tolist())
    filtered = _empty_like(segment)
    filtered.spiketrains.extend([train for train in segment.spiketrains
                                 if int(train.annotations["channel_id"]) in wanted])
    for signal in segment.analogsignals:
        channels = np.asarray(signal.annotations["channel_ids"])
        kept = np.flatnonzero(np.isin(channels, ids))
        if len(kept) == 0:          # none of the cells recorded it: left out, as PyNN does
            continue
        part = signal[:, kept]          # Neo slices the array annotations with it
        # a dict of its own: Neo's slice shares the cached signal's annotations
        part.annotations = {**signal.annotations, "channel_ids": channels[kept]}
        part.segment = filtered
        filtered.analogsignals.append(part)
    filtered.irregularlysampledsignals.extend(segment.irregularlysampledsignals)
    return filtered


def _detached(segment):
    """A segment of its own with the data objects of `segment`: views of the same values,
    with their own annotations, so that changing it leaves `segment` as it was."""
    detached = _empty_like(segment)
    for kind in ("spiketrains", "analogsignals", "irregularlysampledsignals"):
        for item in getattr(segment, kind):
            view = item.view(type(item))
            view.annotations = dict(item.annotations)
            view.array_annotations = {key: np.copy(value)
                                      for key, value in item.array_annotations.items()}
            view.segment = detached
            getattr(detached, kind).append(view)
    return detached


def _empty_like(segment):
    return neo.Segment(name=segment.name, description=segment.description,
                       file_origin=segment.file_origin, rec_datetime=segment.rec_datetime,
                       index=segment.index, **segment.annotations)


# Recorder.get looks the function up in its module when it runs
recording.filter_by_variables = _filter_by_variables


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file=file)
        self._clear_current_segment()

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None,
            locations=None):
        """PyNN's get, with the segments of earlier runs also only of `filter_ids` (a
        view's cells), as the current one is."""
        earlier = len(list(self.cache))
        block = super().get(variables, gather, filter_ids, clear, annotations, locations)
        for k, segment in enumerate(block.segments[:earlier]):
            if filter_ids is not None:
                segment = _filter_by_cells(segment, filter_ids)
            # the caller's own objects: PyNN's Assembly.get_data merges the blocks of its
            # populations into the first one and shifts channel indices in place
            block.segments[k] = _detached(segment)
            block.segments[k].block = block
        return block

    def store_to_cache(self, annotations=None):
        """PyNN's (at reset()), keeping what was recorded after a get_data(clear=True):
        PyNN's skips the whole segment whenever data were cleared since the last reset, so
        what the runs after the clear recorded was lost."""
        if self.clear_flag and self._simulator.state.t > self._start_ms():
            self.clear_flag = False
        super().store_to_cache(annotations)

    def write(self, variables, file=None, gather=False, filter_ids=None, clear=False,
              annotations=None, locations=None):
        """PyNN's write, clearing (clear=True) only once the data are written: a write that
        fails (a file that cannot be made, ...) loses nothing."""
        super().write(variables, file, gather, filter_ids, clear=False,
                      annotations=annotations, locations=locations)
        if clear:
            self.clear()

    # --- what is recorded ---------------------------------------------------------------

    def _check_sampling_interval(self, sampling_interval):
        """A positive multiple of the timestep, checked before record() changes anything
        (PyNN's record() marks the cells as recorded before it calls _record)."""
        if sampling_interval is not None:
            dt = self._simulator.state.dt
            try:
                steps = float(sampling_interval) / dt
            except (TypeError, ValueError):
                steps = math.nan
            if not (steps > 0 and math.isfinite(steps)) or abs(steps - round(steps)) > 1e-9:
                raise errors.InvalidParameterValueError(
                    f"sampling_interval must be a positive multiple of the timestep "
                    f"{dt} ms (got {sampling_interval!r})")
        super()._check_sampling_interval(sampling_interval)

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None and variable.name != "spikes":
            self.sampling_interval = sampling_interval      # spikes have none (PyNN)
        if new_ids:
            if variable.name == "spikes" and self._simulator.state.t > 0:
                for cell in new_ids:        # spikes of the steps before do not count
                    self._spikes_from.setdefault(int(cell), self._simulator.state.t)
            self._simulator.state.structure_changed()

    def _reset(self):
        """record(None): the segment's recordings are dropped; recording starts afresh."""
        self._clear_current_segment()
        self._recording_start_time = self._simulator.state.t * pq.ms
        self._simulator.state.structure_changed()

    def _native(self, variable_name):
        """The model's name of a recorded variable: composed models record 'AMPA.gsyn' from
        their state variable 'AMPA_gsyn' (celltype.variable_map); others use PyNN's names."""
        return getattr(self.population.celltype, "variable_map", {}).get(variable_name,
                                                                         variable_name)

    def recorded_ids(self, variable_name):
        """Ids recording a variable, given by its PyNN or its native name."""
        wanted = self._native(variable_name)
        ids = set()
        for variable, recorded in self.recorded.items():
            if self._native(variable.name) == wanted:
                ids |= recorded
        return ids

    def sampled_variables(self):
        """Native names of the state variables to sample."""
        return sorted({self._native(v.name) for v, ids in self.recorded.items()
                       if v.name != "spikes" and ids})

    # --- data handed over by the engine -------------------------------------------------

    def _clear_current_segment(self):
        self._spike_chunks = []          # (neuron index array, time array)
        self._sample_chunks = {}         # variable -> list of (time of first row, ids, rows)
        self._sampled = {}               # variable -> ids (sorted array) with a first sample
        self._spikes_from = {}           # cell id -> time after which its spikes count

    def _start_ms(self):
        """When this recording (its current segment) started, or was last cleared, in ms."""
        return float(pq.Quantity(self._recording_start_time).rescale(pq.ms).magnitude)

    def start_step(self, dt):
        """The step at which this recording (its current segment) started."""
        return int(round(self._start_ms() / dt))

    def needing_initial_sample(self, variable, ids):
        """Of the ids recording a sampled variable (native name), those that still need
        their values at the start of the next run: their first sample in this segment."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids[~np.isin(ids, self._sampled.get(variable, ids[:0]))]

    def store_spikes(self, neuron_indices, times):
        data = getattr(self.population, "_data", None)
        if len(times) and data is not None and data.off_grid and data.holds_spike_times:
            neuron_indices, times = _exact_source_times(data, np.asarray(neuron_indices),
                                                        np.asarray(times, dtype=float))
        if len(times):
            self._spike_chunks.append((np.asarray(neuron_indices, dtype=np.int64),
                                       np.asarray(times, dtype=float)))

    def store_samples(self, variable, ids, rows, t_first):
        """Samples of a state variable, by its native name; t_first (ms): the time of the
        first row."""
        sampled = self._sampled.get(variable)
        ids = np.asarray(ids, dtype=np.int64)
        if sampled is None or not np.isin(ids, sampled).all():
            self._sampled[variable] = np.union1d(ids if sampled is None else sampled, ids)
        if len(rows):
            self._sample_chunks.setdefault(variable, []).append(
                (float(t_first), np.asarray(ids), np.asarray(rows)))

    def _all_spikes(self):
        """(neuron indices, times) of the recorded spikes; for a cell added to spike
        recording during the segment, those after it was added."""
        if not self._spike_chunks:
            return np.zeros(0, np.int64), np.zeros(0)
        indices = np.concatenate([c[0] for c in self._spike_chunks])
        times = np.concatenate([c[1] for c in self._spike_chunks])
        if self._spikes_from:
            first = int(self.population.first_id)
            after = np.full(self.population.size, -np.inf)
            # spikes of the steps after t (ending at t + dt, or, off the grid, at exact
            # times within them) count; the tolerance only absorbs rounding of t
            for cell, t in self._spikes_from.items():
                after[cell - first] = t + 1e-6 * self._simulator.state.dt
            keep = times > after[indices]
            indices, times = indices[keep], times[keep]
        return indices, times

    # --- PyNN's Recorder hooks ----------------------------------------------------------

    def _get_spiketimes(self, ids, clear=False):
        if len(ids) == 0:
            # no recorded cell in this process (runs over several): no trains; PyNN's
            # array form cannot map an empty list of cells to indices
            if clear:
                self._spike_chunks = []
            return {}
        indices, times = self._all_spikes()
        id_array = indices + int(self.population.first_id)
        keep = np.isin(id_array, np.asarray(ids, dtype=np.int64))
        order = np.lexsort((times[keep], id_array[keep]))
        result = (id_array[keep][order], times[keep][order].copy())
        if clear:
            self._spike_chunks = []
        return result

    def _get_all_signals(self, variable, ids, clear=False):
        native = self._native(variable.name)
        ids = np.asarray(ids, dtype=np.int64)
        start = float(pq.Quantity(self._recording_start_time).rescale(pq.ms).magnitude)
        placed = []         # (first row on the grid from the recording's start, ids, rows)
        # (the kernels sample on that grid: a row's time is start + row * interval)
        for t_first, chunk_ids, rows in self._sample_chunks.get(native, []):
            row = int(round((t_first - start) / self.sampling_interval))
            if row < 0:     # before the recording's start
                rows, row = rows[-row:], 0
            placed.append((row, chunk_ids, rows))
        length = max((row + len(rows) for row, _, rows in placed), default=0)
        values = np.full((length, len(ids)), np.nan)
        for row, chunk_ids, rows in placed:
            columns, positions = _positions_in(chunk_ids, ids)
            values[row:row + len(rows), columns] = rows[:, positions]
        if clear:
            self._sample_chunks[native] = []
        return values, None

    def _local_count(self, variable, filter_ids=None):
        indices, _ = self._all_spikes()
        counts = np.bincount(indices, minlength=self.population.size)
        first = int(self.population.first_id)
        return {int(cell): int(counts[int(cell) - first])
                for cell in self.filter_recorded(variable, filter_ids)}

    def _clear_simulator(self):
        self._clear_current_segment()


def _positions_in(chunk_ids, ids):
    """(columns, positions): the places in `ids` of the cells that `chunk_ids` holds, and
    their places in chunk_ids (the last one, should a cell appear twice); the other cells
    of `ids` are left out."""
    order = np.argsort(chunk_ids, kind="stable")    # equal ids keep their order
    sorted_ids = chunk_ids[order]
    at = np.searchsorted(sorted_ids, ids, side="right") - 1     # the last id <= each cell
    found = at >= 0
    found[found] = sorted_ids[at[found]] == ids[found]
    return np.flatnonzero(found), order[at[found]]


def _exact_source_times(data, neurons, times):
    """
    The spikes a spike source emitted in the recorded steps, at the exact times it was
    given (setup(spike_precision="off_grid")) instead of the end of their step; of several
    times in one step (merged into one spike), the first.
    """
    from .standardmodels.cells import spike_emission_steps
    dt = data.dt
    indices, exact = [], []
    for neuron in np.unique(neurons):
        given = data.params["spike_times"][neuron]
        given = np.asarray(given.value if hasattr(given, "value") else given, dtype=float)
        emitted = spike_emission_steps(given, dt, off_grid=True) + 1
        recorded = np.rint(times[neurons == neuron] / dt).astype(np.int64)
        first_in_step = np.r_[True, np.diff(emitted) != 0]
        keep = np.isin(emitted, recorded) & first_in_step
        indices.append(np.full(int(keep.sum()), neuron, dtype=np.int64))
        exact.append(given[keep])
    return np.concatenate(indices), np.concatenate(exact)
