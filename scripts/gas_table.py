"""`brownie run scripts/gas_table.py --network <net>`: measure the gas of every vault operation on that chain
and record it in bench/gas.json (`make gas` does this for Ganache and Anvil)."""
from brownie import accounts, chain, network, project

from marginlab.brownie.gas import load_snapshot, measure_gas, table, write_snapshot

CHAIN_NAMES = {"development": "ganache", "anvil": "anvil"}


def main() -> None:
    name = CHAIN_NAMES.get(network.show_active(), network.show_active())
    gas = measure_gas(project.get_loaded_projects()[0], accounts, chain)
    write_snapshot(name, gas)
    print(table(load_snapshot()))
