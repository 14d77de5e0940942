"""The vault's split: user actions and views in Vault, governance and liquidation in two modules the vault's
constructor deploys and delegatecalls (see IVaultGovernance, IVaultLiquidation).

The modules run in the vault's storage; called directly they see their own empty storage, so nothing they do
there can touch the vault, and every entry point reverts. Every code object stays under EIP-170, and the
vault's creation code (which carries both modules' creation code) under EIP-3860's initcode limit, which Anvil
enforces for contract-creating transactions.
"""
import brownie
from brownie import web3

from unitkit import MAX, err

EIP170_MAX_CODE = 24_576
EIP3860_MAX_INITCODE = 2 * EIP170_MAX_CODE


def test_the_vault_deploys_both_modules_and_each_fits_eip170(vault):
    for address in (vault.address, vault.liquidationModule(), vault.governanceModule()):
        assert 0 < len(web3.eth.get_code(address)) <= EIP170_MAX_CODE
    assert len({vault.address, vault.liquidationModule(), vault.governanceModule()}) == 3


def test_the_vault_creation_code_fits_the_eip3860_initcode_limit():
    assert len(bytes.fromhex(brownie.Vault.bytecode)) <= EIP3860_MAX_INITCODE


def test_liquidation_module_called_directly_acts_on_its_own_empty_storage(vault, usdc, weth, alice, liquidator):
    module = brownie.VaultLiquidation.at(vault.liquidationModule())
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        module.liquidate(alice, 0, usdc, weth, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("AccountHasNoDebt")):
        module.settleBadDebt(alice, 0, {"from": liquidator})


def test_governance_module_called_directly_has_no_governor(vault, gov, weth):
    module = brownie.VaultGovernance.at(vault.governanceModule())
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        module.setGuardian(gov, {"from": gov})
    with brownie.reverts(revert_pattern=err("NotGuardian")):
        module.setPaused(True, True, True, {"from": gov})
    assert not vault.borrowPaused()


def test_a_delegated_call_keeps_the_callers_identity_and_the_vaults_events(vault, gov, guardian):
    tx = vault.setPaused(True, False, False, {"from": guardian})
    assert tx.events["PauseSet"]["caller"] == guardian
    assert [log["address"] for log in tx.logs] == [vault.address]  # emitted by the vault, not the module
    assert vault.borrowPaused() and not vault.withdrawPaused()
