"""Deploying Aave v3 from its npm artifacts as Aave's own deployment does: the addresses provider and ACL, the
logic libraries linked into ``Pool`` and ``PoolConfigurator``, both behind the provider's proxies and
initialised, ``AaveOracle`` over the shared feeds (USD, 8 decimals, no fallback oracle), the token
implementations, one rate strategy per distinct ``irm:``, and one reserve per market (``initReserves``, then
its collateral, borrowing, fee and cap settings)."""
from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from marginlab.chain import Artifacts, Signer
from marginlab.protocols.aave_v3.artifacts import PEERS_BUILD, PEERS_SRC, AaveArtifacts
from marginlab.protocols.aave_v3.layout import BASE_DECIMALS, ReserveParams
from marginlab.protocols.build import compile_folder
from marginlab.protocols.world import World

ZERO = "0x" + "00" * 20
MARKET_ID = "marginlab"
#: The logic libraries, in deployment order (FlashLoanLogic links BorrowLogic, so it comes after it).
LIBRARIES = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic",
             "FlashLoanLogic", "ConfiguratorLogic")
VARIABLE_RATE_MODE = 2


@dataclass
class Deployment:
    provider: Contract
    acl: Contract
    pool: Contract
    configurator: Contract
    oracle: Contract
    reader: Contract
    treasury: str
    #: symbol → (aToken, variable debt token, stable debt token)
    tokens: dict[str, tuple[Contract, Contract, Contract]]
    #: symbol → its rate strategy's address
    strategies: dict[str, str]


def reader_artifacts() -> Artifacts:
    """Our batch reader (``peers/aave-v3/``), compiled on first use (a no-op when nothing changed)."""
    return compile_folder(PEERS_SRC, PEERS_BUILD)


def deploy(world: World, art: AaveArtifacts, reserves: dict[str, ReserveParams], treasury: str) -> Deployment:
    chain, deployer = world.chain, world.deployer
    me = deployer.address
    provider = chain.deploy(deployer, art, "PoolAddressesProvider", MARKET_ID, me)
    chain.transact(deployer, provider, "setACLAdmin", me)
    acl = chain.deploy(deployer, art, "ACLManager", provider.address)
    chain.transact(deployer, provider, "setACLManager", acl.address)
    for role in ("addPoolAdmin", "addEmergencyAdmin", "addRiskAdmin"):
        chain.transact(deployer, acl, role, me)
    for lib in LIBRARIES:
        art.link(lib, chain.deploy(deployer, art, lib).address)
        world.label(art.libraries[lib], lib)
    pool_impl = chain.deploy(deployer, art, "Pool", provider.address)
    world.label(pool_impl.address, "Pool (implementation)")
    chain.transact(deployer, pool_impl, "initialize", provider.address)  # as Aave's deployment: no one else can
    chain.transact(deployer, provider, "setPoolImpl", pool_impl.address)
    pool = chain.contract(chain.call(provider, "getPool"), art.abi("Pool"))
    conf_impl = chain.deploy(deployer, art, "PoolConfigurator")
    chain.transact(deployer, conf_impl, "initialize", provider.address)
    chain.transact(deployer, provider, "setPoolConfiguratorImpl", conf_impl.address)
    configurator = chain.contract(chain.call(provider, "getPoolConfigurator"), art.abi("PoolConfigurator"))
    symbols = list(world.markets)
    oracle = chain.deploy(deployer, art, "AaveOracle", provider.address,
                          [world.tokens[s].address for s in symbols], [world.feeds[s].address for s in symbols],
                          ZERO, ZERO, 10**BASE_DECIMALS)
    chain.transact(deployer, provider, "setPriceOracle", oracle.address)
    impls: dict[str, str] = {name: str(chain.deploy(deployer, art, name, pool.address).address)
             for name in ("AToken", "StableDebtToken", "VariableDebtToken")}
    strategies = _strategies(world, art, deployer, provider, reserves)
    for sym in symbols:
        chain.transact(deployer, configurator, "initReserves", [_init_input(world, sym, impls, strategies[sym],
                                                                             treasury)])
        configure(world, deployer, configurator, sym, reserves[sym])
    tokens = {}
    for sym in symbols:
        data = chain.call(pool, "getReserveData", world.tokens[sym].address)
        a_token, stable, variable = data[8], data[9], data[10]
        tokens[sym] = (chain.contract(a_token, art.abi("AToken")),
                       chain.contract(variable, art.abi("VariableDebtToken")),
                       chain.contract(stable, art.abi("StableDebtToken")))
        world.label(a_token, f"a{sym}")
        world.label(variable, f"variableDebt{sym}")
    reader = chain.deploy(deployer, reader_artifacts(), "AaveReader")
    for contract, label in ((pool, "pool"), (configurator, "configurator"), (oracle, "AaveOracle")):
        world.label(contract.address, label)
    return Deployment(provider, acl, pool, configurator, oracle, reader, treasury, tokens, strategies)


def _strategies(world: World, art: AaveArtifacts, deployer: Signer, provider: Contract,
                reserves: dict[str, ReserveParams]) -> dict[str, str]:
    """One DefaultReserveInterestRateStrategy per distinct curve (stable borrowing off: its figures are 0)."""
    made: dict[tuple[int, int, int, int], str] = {}
    out = {}
    for sym, r in reserves.items():
        if r.irm not in made:
            made[r.irm] = world.chain.deploy(deployer, art, "DefaultReserveInterestRateStrategy", provider.address,
                                             *r.irm, 0, 0, 0, 0, 0).address
        out[sym] = made[r.irm]
    return out


def _init_input(world: World, sym: str, impls: dict[str, str], strategy: str, treasury: str) -> tuple[object, ...]:
    """ConfiguratorInputTypes.InitReserveInput for one market."""
    return (impls["AToken"], impls["StableDebtToken"], impls["VariableDebtToken"], world.markets[sym].decimals,
            strategy, world.tokens[sym].address, treasury, ZERO, f"Aave marginlab {sym}", f"a{sym}",
            f"Aave marginlab Variable Debt {sym}", f"variableDebt{sym}", f"Aave marginlab Stable Debt {sym}",
            f"stableDebt{sym}", b"")


def configure(world: World, deployer: Signer, configurator: Contract, sym: str, r: ReserveParams) -> None:
    """A reserve's risk settings, as PoolConfigurator takes them (a threshold of 0 takes a bonus of 0)."""
    chain, asset = world.chain, world.tokens[sym].address
    chain.transact(deployer, configurator, "configureReserveAsCollateral", asset, r.ltv, r.threshold,
                   r.bonus if r.threshold else 0)
    chain.transact(deployer, configurator, "setReserveBorrowing", asset, True)
    chain.transact(deployer, configurator, "setReserveFactor", asset, r.reserve_factor)
    chain.transact(deployer, configurator, "setLiquidationProtocolFee", asset, r.protocol_fee)
    chain.transact(deployer, configurator, "setSupplyCap", asset, r.supply_cap)
    chain.transact(deployer, configurator, "setBorrowCap", asset, r.borrow_cap)
