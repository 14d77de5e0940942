// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadMath} from "./WadMath.sol";

/// @title LiquidationMath
/// @notice Seizure amounts and the bonus split. Every step rounds against the liquidator.
library LiquidationMath {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @notice A debt asset and a collateral asset as liquidation sees them.
    struct Pair {
        uint256 priceDebt;
        uint8 decimalsDebt;
        uint256 priceColl;
        uint8 decimalsColl;
        uint256 bonus;
    }

    /// @dev Collateral units bought by `repaid` debt units: value(repaid) × (1 + bonus) / priceColl,
    /// every step rounded down.
    function seizeForRepayDown(uint256 repaid, Pair memory p) internal pure returns (uint256) {
        uint256 value = repaid.mulDivDown(p.priceDebt, 10 ** p.decimalsDebt);
        return value.wMulDown(WAD + p.bonus).mulDivDown(10 ** p.decimalsColl, p.priceColl);
    }

    /// @dev Debt units that must be repaid to seize `seized` collateral units: the inverse of
    /// `seizeForRepayDown`, every step rounded up.
    function repayForSeizeUp(uint256 seized, Pair memory p) internal pure returns (uint256) {
        uint256 value = seized.mulDivUp(p.priceColl, 10 ** p.decimalsColl);
        return value.wDivUp(WAD + p.bonus).mulDivUp(10 ** p.decimalsDebt, p.priceDebt);
    }

    /// @dev Split `seized` into the liquidator's part and the protocol's cut: the bonus part is
    /// seized − seized / (1 + bonus) (the base rounded down), the cut is protocolShare of it, rounded up.
    function splitSeized(uint256 seized, uint256 bonus, uint256 protocolShare)
        internal
        pure
        returns (uint256 toLiquidator, uint256 protocolCut)
    {
        uint256 bonusPart = seized - seized.wDivDown(WAD + bonus);
        protocolCut = bonusPart.wMulUp(protocolShare);
        toLiquidator = seized - protocolCut;
    }
}
