"""The vault's split: user actions and views in Vault, governance and liquidation in two modules deployed
before the vault, checked by its constructor and delegatecalled (see IVaultGovernance, IVaultLiquidation).

The modules run in the vault's storage; called directly they see their own empty storage, so nothing they do
there can touch the vault, and every entry point reverts. Every code object stays under EIP-170, and the
vault's creation code (which no longer carries the modules' creation code) under EIP-3860's initcode limit,
which Anvil enforces for contract-creating transactions.
"""
import brownie
from brownie import web3

from chainkit import deploy_vault
from unitkit import MAX, err

EIP170_MAX_CODE = 24_576
EIP3860_MAX_INITCODE = 2 * EIP170_MAX_CODE


def test_the_vault_uses_both_modules_and_each_fits_eip170(vault):
    for address in (vault.address, vault.liquidationModule(), vault.governanceModule()):
        assert 0 < len(web3.eth.get_code(address)) <= EIP170_MAX_CODE
    assert len({vault.address, vault.liquidationModule(), vault.governanceModule()}) == 3


def test_the_vault_creation_code_fits_the_eip3860_initcode_limit():
    for name in ("Vault", "VaultLiquidation", "VaultGovernance"):
        # + the constructor's arguments (five words for the vault)
        assert len(bytes.fromhex(getattr(brownie, name).bytecode)) + 5 * 32 <= EIP3860_MAX_INITCODE


def test_the_vault_constructor_refuses_modules_without_code_or_not_the_expected_ones(gov, guardian, router):
    liquidation = brownie.VaultLiquidation.deploy(router, {"from": gov})
    governance = brownie.VaultGovernance.deploy(router, {"from": gov})
    with brownie.reverts(revert_pattern=err("ModuleNotContract")):
        brownie.Vault.deploy(gov, guardian, router, guardian, governance, {"from": gov})
    with brownie.reverts(revert_pattern=err("ModuleNotContract")):
        brownie.Vault.deploy(gov, guardian, router, liquidation, brownie.ZERO_ADDRESS, {"from": gov})
    # swapped modules, and a contract that is no module at all (the router has no moduleIdentity)
    with brownie.reverts(revert_pattern=err("WrongModule")):
        brownie.Vault.deploy(gov, guardian, router, governance, liquidation, {"from": gov})
    with brownie.reverts(revert_pattern=err("WrongModule")):
        brownie.Vault.deploy(gov, guardian, router, liquidation, router, {"from": gov})
    # a module built with another router would read that router's prices inside the vault
    other = brownie.OracleRouter.deploy(gov, {"from": gov})
    foreign = brownie.VaultGovernance.deploy(other, {"from": gov})
    with brownie.reverts(revert_pattern=err("WrongModule")):
        brownie.Vault.deploy(gov, guardian, router, liquidation, foreign, {"from": gov})
    vault = brownie.Vault.deploy(gov, guardian, router, liquidation, governance, {"from": gov})
    assert (vault.liquidationModule(), vault.governanceModule()) == (liquidation, governance)
    assert deploy_vault(brownie, gov, guardian, router).router() == router


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
