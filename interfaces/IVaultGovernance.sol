// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVaultBase} from "./IVaultBase.sol";

/// @title IVaultGovernance
/// @notice What the governor (and, for pauses, the guardian) may change. The vault serves these functions by
/// delegatecall to its governance module (`VaultGovernance`, deployed before the vault, checked by its
/// constructor and fixed for its life): they run in the vault's storage with the caller as `msg.sender`, and
/// every event and error comes from the vault's address. The state they set is read through the vault's views (IVault).
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
    /// @notice Propose `newGovernor` as the next governor (step one of two). Governor only; emits
    /// `GovernorProposed`. Governance moves only when `newGovernor` calls `acceptGovernance`, so a typo cannot
    /// hand the vault to an address nobody controls; a later proposal replaces this one (proposing the governor
    /// itself withdraws it in effect). Reverts `ZeroAddress` for the zero address.
    function setGovernor(address newGovernor) external;
    /// @notice Take over governance (step two): only the proposed governor-elect may call it; emits `GovernorSet`
    /// and clears the proposal. Reverts `NotPendingGovernor` for anyone else.
    function acceptGovernance() external;
    /// @notice Replace the guardian (zero disables it). Governor only.
    function setGuardian(address newGuardian) external;
    /// @notice Set the global pause flags; emits `PauseSet`. Deposits and repays are never paused. The governor
    /// may set any flags. The guardian may only pause, one flag per call: exactly one flag may change and it must
    /// go from false to true (else `GuardianCannotUnpause` / `GuardianPausesOneFlag`). Anyone else: `NotGuardian`.
    /// When liquidations go from paused to unpaused and the grace period is non-zero, they stay refused
    /// (`LiquidationGracePeriod`) for that period; emits `LiquidationGraceStarted`.
    function setPaused(bool borrow, bool withdraw, bool liquidate) external;
    /// @notice Set the grace period (seconds, at most 4 hours) that an unpause of liquidations starts, so that
    /// owners can repay or add collateral before liquidators return (Aave 3.1's). Governor only; emits
    /// `LiquidationGracePeriodSet`; reverts `GracePeriodTooLong`. Default 0 (liquidations resume at once). A
    /// grace period already running is unchanged.
    function setLiquidationGracePeriod(uint256 period) external;
    /// @notice Send `amount` of `token` reserves to `to`. Governor only; reserves lent out cannot be taken.
    function withdrawReserves(address token, uint256 amount, address to) external;
    /// @notice Cover `amount` of `token`'s deficit (I24), at most the deficit (`AmountAboveDeficit`). Without
    /// `fromReserves` anyone pays the tokens in (a fee-on-transfer token covers what arrived); with it the governor
    /// moves reserves (`NotGovernor`, `InsufficientReserves`). Emits `DeficitCovered`.
    function coverDeficit(address token, uint256 amount, bool fromReserves) external;
}
