"""vibe_core: the pure, deterministic trading core.

Everything here is ``step(state, event) -> (state, actions)``: no IO, no wall clock, no unseeded
randomness. Shells (``vibe_backtest``, ``vibe_live``) feed events and carry out actions.
"""
