"""
The contract every target meets.

A target compiles generated code (through the content-hash cache) into a Program. A
Program knows the arrays the kernels use, by the names in the generated pointer table;
the engine gives it host arrays (numpy) with `bind`, tells it which host arrays changed
with `push`, asks for current values with `pull`, and advances time with `run`.
"""

import shlex
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np


class Target(ABC):
    name: str = "abstract"

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """True when this target can compile and run here."""

    @abstractmethod
    def compile(self, code) -> "Program":
        """Compile GeneratedCode (through the cache) and return a Program."""

    def close(self):
        """Release what the target holds (contexts, libraries)."""


class Program(ABC):

    def __init__(self, code):
        self.code = code
        self.array_names = [spec.name for spec in code.arrays]

    @abstractmethod
    def bind(self, arrays: Mapping[str, np.ndarray]):
        """Use these host arrays (all names of the pointer table) from now on."""

    def _replaced(self, arrays, bound):
        """The names of the pointer table whose array in `arrays` is another object than
        the one in `bound` (name -> array bound before): every name at the first bind. The
        engine binds before each run() call but replaces few arrays between calls (recording
        buffers of another size, tables, ...): only those need binding again."""
        try:
            return [name for name in self.array_names if bound.get(name) is not arrays[name]]
        except KeyError:
            missing = [name for name in self.array_names if name not in arrays]
            raise KeyError(f"no host array for {missing}") from None

    @abstractmethod
    def push(self, names: Iterable[str]):
        """Copy the named host arrays to the target."""

    @abstractmethod
    def pull(self, names: Iterable[str]):
        """Copy the named arrays from the target into their host arrays."""

    def written_by_target(self, names: Iterable[str]):
        """The kernels write the named arrays before anything reads them (recording
        buffers): their host values need not be copied to the target."""

    def recorded_spikes(self, name: str, words: np.ndarray, n_steps: int):
        """(steps, neurons) of the spike bits recorded in the first n_steps rows of the
        array `name`, whose host array is `words` (rows of bits, bit i & 31 of word i >> 5
        for neuron i), ordered by step, then neuron: pulled and decoded on the host."""
        from ..hosttools import spikes_from_words
        self.pull([name])
        return spikes_from_words(words[:n_steps])

    @abstractmethod
    def run(self, first_step: int, n_steps: int, seed: int, threads: int, exchange=None):
        """Advance the network by n_steps steps, starting at step first_step. `exchange`
        (runs over several processes, C target): called with the end step every
        graph.exchange_lag steps and at the end (pynn_gpu.distributed.SpikeExchange)."""


# of a compiler's messages, the first errors are shown (later ones often follow from them)
# and the last lines (a summary, or where a tool chain stopped)
_FIRST_CHARS, _LAST_CHARS = 6000, 1500


def compile_source(command, source: Path, text: str, error_class, what: str):
    """Write `text` to `source` and run the compiler `command` (which reads it). On failure
    raise `error_class` with the compiler's exit status, its command line, what it said and
    where the source is kept for reading (the source is removed otherwise)."""
    source.write_text(text)
    try:
        result = subprocess.run([str(part) for part in command], capture_output=True,
                                text=True)
    except BaseException:
        source.unlink()
        raise
    if result.returncode == 0:
        source.unlink()
        return
    kept = source.with_name(f"failed-{source.name.lstrip('.')}")
    source.replace(kept)
    said = (result.stderr + result.stdout).strip().replace(str(source), str(kept))
    if len(said) > _FIRST_CHARS + _LAST_CHARS:
        said = f"{said[:_FIRST_CHARS]}\n[...]\n{said[-_LAST_CHARS:]}"
    status = (f"exit status {result.returncode}" if result.returncode > 0
              else f"stopped by signal {-result.returncode}")
    command_line = shlex.join(str(part) for part in command).replace(str(source), str(kept))
    raise error_class(
        f"{what} failed ({status}): {command_line}\n"
        f"{said or '(it printed nothing)'}\nThe source is kept in {kept}")
