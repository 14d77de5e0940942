"""Everything that needs brownie: its Anvil compatibility patches, plain test output for logs, the gas table."""
