// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRouter} from "./IOracleRouter.sol";

/// @title IVaultModule
/// @notice What a vault module (VaultGovernance, VaultLiquidation) says about itself, so that the Vault's
/// constructor can refuse an address that is not the module it expects (`WrongModule`).
interface IVaultModule {
    /// @notice The module's identity (`keccak256("marginlab.VaultGovernance.v1")` or
    /// `keccak256("marginlab.VaultLiquidation.v1")`) and the oracle router its code reads: the router is an
    /// immutable, so in the vault's delegatecalls it is the module's, and it must be the vault's.
    function moduleIdentity() external view returns (bytes32 id, IOracleRouter router);
}
