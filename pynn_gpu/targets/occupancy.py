"""
Block sizes from occupancy: how many warps of a kernel can be resident on one multiprocessor,
given the registers and shared memory the compiled kernel needs and the device's limits.

The limits follow NVIDIA's occupancy calculator (cuda_occupancy.h) for compute capability
7.0 and later: registers are allocated per warp in units of 256, inside each of the
multiprocessor's 4 sub-partitions (a quarter of its register file each), so the warps
that fit are 4 x floor(registers per sub-partition / registers per warp), not the whole
file divided at once; a block must also fit the per-block register limit with its warps
rounded up to the 4 sub-partitions (the hardware's launch check). Shared memory is
allocated per block in units of 128 bytes, plus 1 KiB the system reserves per block.

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
    registers_per_block: int = 65536
    register_unit: int = 256          # registers are allocated per warp in units of this
    register_partitions: int = 4      # sub-partitions, each with a quarter of the registers
    shared_per_sm: int = 233472
    shared_unit: int = 128            # shared memory is allocated per block in units of this
    shared_reserved_per_block: int = 1024
    max_threads_per_block: int = 1024


@dataclass(frozen=True)
class KernelResources:
    registers_per_thread: int
    shared_per_block: int = 0
    max_threads_per_block: int = 1024  # the kernel's own limit (registers can lower it)


def _round_up(value, unit):
    return -(-value // unit) * unit


def resident_blocks(block, kernel: KernelResources, device: DeviceLimits):
    """Blocks of `block` threads that fit on one multiprocessor at once."""
    warps = -(-block // WARP)
    by_threads = (device.max_threads_per_sm // WARP) // warps
    return max(0, min(device.max_blocks_per_sm, by_threads,
                      _blocks_by_registers(warps, kernel, device),
                      _blocks_by_shared(kernel, device)))


def _blocks_by_registers(warps, kernel, device):
    per_warp = _round_up(kernel.registers_per_thread * WARP, device.register_unit)
    if per_warp == 0:
        return device.max_blocks_per_sm
    partitions = device.register_partitions
    # the launch check counts the block's warps rounded up to the sub-partitions
    if per_warp * _round_up(warps, partitions) > device.registers_per_block:
        return 0
    warps_per_partition = (device.registers_per_sm // partitions) // per_warp
    return warps_per_partition * partitions // warps


def _blocks_by_shared(kernel, device):
    per_block = (_round_up(kernel.shared_per_block, device.shared_unit)
                 + device.shared_reserved_per_block)
    return device.shared_per_sm // per_block if per_block else device.max_blocks_per_sm


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
