"""Gas regression gate: every vault operation costs at most 2 % more than the figure committed in bench/gas.json
for the chain the suite runs on. Gas is deterministic, so this is no timing test; `make gas` re-measures."""
from brownie import network, project

from marginlab.brownie.gas import load_snapshot, measure_gas, regressions

CHAIN_NAMES = {"development": "ganache", "anvil": "anvil"}


def test_no_operation_costs_more_than_two_percent_above_the_committed_gas(accounts, chain):
    name = CHAIN_NAMES[network.show_active()]
    committed = load_snapshot().get(name)
    assert committed, f"bench/gas.json has no table for {name}: run `make gas`"
    measured = measure_gas(project.get_loaded_projects()[0], accounts, chain)
    assert regressions(measured, committed) == []

