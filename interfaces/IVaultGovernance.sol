// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVaultBase} from "./IVaultBase.sol";

/// @title IVaultGovernance
/// @notice What the governor (and, for pauses, the guardian) may change. The vault serves these functions by
/// delegatecall to its governance module (`VaultGovernance`, deployed by the vault's constructor and fixed for
/// its life): they run in the vault's storage with the caller as `msg.sender`, and every event and error
/// comes from the vault's address. The state they set is read through the vault's views (IVault).
interface IVaultGovernance is IVaultBase {
    /// @notice List `token` with `p` (see MarketParams for validity). Governor only; at most 16 markets;
    /// the router must already price `token`.
    function listMarket(address token, MarketParams calldata p) external;
    /// @notice Replace the parameters of listed `token` after accruing it. Governor only.
    function setMarketParams(address token, MarketParams calldata p) external;
    /// @notice Choose how `liquidate` sizes and pays liquidations (see IVaultLiquidation). Governor only; emits
    /// `LiquidationPolicySet`. Takes effect at the next call; absorbed collateral stays for sale under any policy.
    function setLiquidationPolicy(LiquidationPolicy policy) external;
    /// @notice Set every policy's parameters (see `LiquidationParams` for each bound). Governor only; emits
    /// `LiquidationParamsSet`.
    function setLiquidationParams(LiquidationParams calldata params) external;
    /// @notice Set the dust minimums (USD WAD, each at most $1,000): a liquidation leaves the repaid debt at 0
    /// or worth at least `minDebtLeftValue`, and the seized collateral at 0 or worth at least
    /// `minCollateralLeftValue`, unless it closes one of them. Governor only; emits `DustMinimumsSet`.
    function setDustMinimums(uint256 minDebtLeftValue, uint256 minCollateralLeftValue) external;
    /// @notice Hand governance to `newGovernor`. Governor only.
    function setGovernor(address newGovernor) external;
    /// @notice Replace the guardian (zero disables it). Governor only.
    function setGuardian(address newGuardian) external;
    /// @notice Set the global pause flags. Guardian or governor. Deposits and repays are never paused.
    function setPaused(bool borrow, bool withdraw, bool liquidate) external;
    /// @notice Send `amount` of `token` reserves to `to`. Governor only; reserves lent out cannot be taken.
    function withdrawReserves(address token, uint256 amount, address to) external;
}
