"""The simulators (asyncexch.sim), as independent oracles of the venues."""
