"""A process lets its compiled programs go before the kernel's memory-map limit."""

from __future__ import annotations

from workers import memory_maps


def test_compiled_programs_are_dropped_only_past_the_memory_map_budget():
    """Past ``vm.max_map_count`` XLA segfaults mid-compile: a process lets its programs go.

    Whether the programs are still held is read from JAX's own cache of each program (a map
    count can move by a few maps meanwhile: other threads allocate and free memory too)."""
    import jax
    import jax.numpy as jnp

    programs = [jax.jit(lambda x, s=scale: jnp.cumsum(x * s) ** 2) for scale in range(1, 9)]
    for program in programs:  # eight distinct programs, each holding its code's maps
        program(jnp.ones(64)).block_until_ready()
    held = memory_maps.map_count()
    assert memory_maps.map_budget() > 0 and held > 0
    assert not memory_maps.release_programs(budget=held + 1_000)
    assert all(program._cache_size() == 1 for program in programs)  # nothing dropped
    assert memory_maps.release_programs(budget=held // 2)
    assert all(program._cache_size() == 0 for program in programs)
    assert memory_maps.map_count() < held
