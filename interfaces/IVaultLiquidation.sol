// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVaultBase} from "./IVaultBase.sol";

/// @title IVaultLiquidation
/// @notice Liquidation and bad-debt settlement. The vault serves these functions by delegatecall to its
/// liquidation module (`VaultLiquidation`, deployed by the vault's constructor and fixed for its life), so
/// they run in the vault's storage, under the vault's reentrancy lock, with the caller as `msg.sender`, and
/// every event and error comes from the vault's address.
interface IVaultLiquidation is IVaultBase {
    /// @notice Liquidate `(owner, subId)`, which must have health_maint < 0: repay up to `repayAmount`
    /// (type(uint256).max = as much as allowed) of its `debtToken` debt from the caller and take
    /// repaid × price_d × (1 + bonus_c) / price_c of its `collToken` deposit. The caller's
    /// `(msg.sender, liquidatorSubId)` is credited that less the protocol's share of the bonus part.
    /// @dev Close factor: 50 % of the `debtToken` debt per call, 100 % when healthFactor < 0.95 or the debt
    /// value is <= dustValue; a repay that would leave a debt worth less than dustValue (but > 0) is
    /// raised to the whole debt. The seizure is capped by the deposit and the repay shrinks to match. A
    /// fee-on-transfer debt token is credited what arrived and the liquidator paid for that only; when the
    /// capped quote took the whole deposit, the rest of it goes to reserves (in protocolCut). If
    /// the sub-account ends with debt and no deposit worth a token unit, its bad debt is settled in the
    /// same call.
    function liquidate(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount,
        uint8 liquidatorSubId
    ) external returns (uint256 repaid, uint256 seized);

    /// @notice Write off the debt of `(owner, subId)`, which must owe something and hold no deposit worth a
    /// token unit: reserves of each debt asset absorb first, the rest lowers that asset's deposit index.
    /// @dev Deposit scale worth 0 (rounding dust, or left so by an earlier socialised loss) is cleared too.
    function settleBadDebt(address owner, uint8 subId) external;
}
