"""Integer-exact models of protocol math, with the contracts' own rounding, shared by the simulator and the tests."""
