"""Everything that needs brownie: its Anvil compatibility patches, the brownie deploy script's logic, the gas table."""
