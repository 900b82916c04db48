"""
Block sizes from occupancy: how many warps of a kernel can be resident on one multiprocessor,
given the registers and shared memory the compiled kernel needs and the device's limits.

Rule: take the block sizes (multiples of 32) that reach the highest theoretical occupancy;
among them, the largest that still gives every multiprocessor at least one block (so a small
kernel is spread over the whole device); if none does, the smallest of them (most blocks).
"""

from dataclasses import dataclass

WARP = 32


@dataclass(frozen=True)
class DeviceLimits:
    multiprocessors: int = 132
    max_threads_per_sm: int = 2048
    max_blocks_per_sm: int = 32
    registers_per_sm: int = 65536
    register_unit: int = 256          # registers are allocated per warp in units of this
    shared_per_sm: int = 233472
    max_threads_per_block: int = 1024


@dataclass(frozen=True)
class KernelResources:
    registers_per_thread: int
    shared_per_block: int = 0
    max_threads_per_block: int = 1024  # the kernel's own limit (registers can lower it)


def resident_blocks(block, kernel: KernelResources, device: DeviceLimits):
    """Blocks of `block` threads that fit on one multiprocessor at once."""
    warps = block // WARP
    by_threads = device.max_threads_per_sm // block
    per_warp = -(-kernel.registers_per_thread * WARP // device.register_unit) * device.register_unit
    by_registers = (device.registers_per_sm // per_warp) // warps if per_warp else by_threads
    by_shared = (device.shared_per_sm // kernel.shared_per_block
                 if kernel.shared_per_block else by_threads)
    return max(0, min(device.max_blocks_per_sm, by_threads, by_registers, by_shared))


def occupancy(block, kernel, device):
    """Fraction of the multiprocessor's thread slots a kernel can keep busy."""
    return resident_blocks(block, kernel, device) * block / device.max_threads_per_sm


def choose_block_size(threads, kernel: KernelResources, device: DeviceLimits):
    largest = min(device.max_threads_per_block, kernel.max_threads_per_block)
    candidates = [b for b in range(WARP, largest + 1, WARP)
                  if resident_blocks(b, kernel, device) > 0]
    if not candidates:
        raise ValueError(f"no block size fits this kernel ({kernel})")
    best = max(occupancy(b, kernel, device) for b in candidates)
    # compare with a little slack: occupancies are ratios of small integers
    top = [b for b in candidates if occupancy(b, kernel, device) >= best - 1e-9]
    spread = [b for b in top if -(-threads // b) >= device.multiprocessors]
    return max(spread) if spread else min(top)
