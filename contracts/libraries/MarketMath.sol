// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadMath} from "./WadMath.sol";

/// @title MarketMath
/// @notice Scale <-> amount conversions, USD values and interest accrual. Pure, so that
/// tests/protocol_model.py can mirror it to the wei.
library MarketMath {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @notice Result of accruing a market over some seconds.
    struct Accrual {
        uint256 borrowIndex;
        uint256 depositIndex;
        uint256 interest;
        uint256 reserveCut;
    }

    /* CONVERSIONS */

    /// @dev Deposit claim of `scale`: rounded down.
    function depositAmountDown(uint256 scale, uint256 depositIndex) internal pure returns (uint256) {
        return scale.mulDivDown(depositIndex, WAD);
    }

    /// @dev Debt of `scale`: rounded up.
    function debtAmountUp(uint256 scale, uint256 borrowIndex) internal pure returns (uint256) {
        return scale.mulDivUp(borrowIndex, WAD);
    }

    /// @dev Scale credited for a deposit / removed by a repay: rounded down.
    function toScaleDown(uint256 amount, uint256 index) internal pure returns (uint256) {
        return amount.mulDivDown(WAD, index);
    }

    /// @dev Scale removed by a withdrawal / added by a borrow: rounded up.
    function toScaleUp(uint256 amount, uint256 index) internal pure returns (uint256) {
        return amount.mulDivUp(WAD, index);
    }

    /// @dev USD value (WAD) of `amount` token units at `price` (USD WAD per whole token), rounded down.
    function valueDown(uint256 amount, uint256 price, uint8 decimals) internal pure returns (uint256) {
        return amount.mulDivDown(price, 10 ** decimals);
    }

    /// @dev USD value (WAD) of `amount` token units at `price`, rounded up.
    function valueUp(uint256 amount, uint256 price, uint8 decimals) internal pure returns (uint256) {
        return amount.mulDivUp(price, 10 ** decimals);
    }

    /* INTEREST */

    /// @dev Borrows / deposits in WAD, rounded down and capped at 1 (rounding can push borrows a few
    /// wei above deposits); 0 without deposits.
    function utilization(uint256 totalBorrows, uint256 totalDeposits) internal pure returns (uint256) {
        if (totalDeposits == 0) return 0;
        uint256 u = totalBorrows.wDivDown(totalDeposits);
        return u > WAD ? WAD : u;
    }

    /// @notice Accrue `elapsed` seconds at `ratePerSecond`.
    /// @dev The borrow index grows by rate × elapsed (rounded up). `interest` is the growth of total
    /// borrows as the vault reports them (rounded up both times), the reserve cut is rounded up and the
    /// depositors' part is spread over the deposit scale rounded down — so depositors are never credited
    /// more than borrowers are charged (I18). Without deposit scale everything goes to reserves.
    function accrue(
        uint256 borrowIndex,
        uint256 depositIndex,
        uint256 totalBorrowScale,
        uint256 totalDepositScale,
        uint256 ratePerSecond,
        uint256 elapsed,
        uint256 reserveFactor
    ) internal pure returns (Accrual memory a) {
        a.borrowIndex = borrowIndex + borrowIndex.mulDivUp(ratePerSecond * elapsed, WAD);
        a.depositIndex = depositIndex;
        a.interest = debtAmountUp(totalBorrowScale, a.borrowIndex) - debtAmountUp(totalBorrowScale, borrowIndex);
        if (totalDepositScale == 0) {
            a.reserveCut = a.interest;
            return a;
        }
        a.reserveCut = a.interest.wMulUp(reserveFactor);
        a.depositIndex = depositIndex + (a.interest - a.reserveCut).mulDivDown(WAD, totalDepositScale);
    }

    /// @notice Deposit index after socialising `loss` over `totalDepositScale`, never below `floor`, and the part
    /// of `loss` the depositors bear (`borne` <= `loss`; the rest is the market's deficit).
    /// @dev As `socialise` while the index stays at or above `floor`. Otherwise the depositors lose what they hold
    /// above the floor (rounded down: the deficit is never understated) and the index stops at `floor`. Without
    /// deposit scale nothing is borne.
    function socialiseFloored(uint256 depositIndex, uint256 totalDepositScale, uint256 loss, uint256 floor)
        internal
        pure
        returns (uint256 newIndex, uint256 borne)
    {
        if (totalDepositScale == 0) return (depositIndex, 0);
        uint256 drop = loss.mulDivUp(WAD, totalDepositScale);
        if (depositIndex >= floor && drop <= depositIndex - floor) return (depositIndex - drop, loss);
        if (depositIndex <= floor) return (depositIndex, 0);
        // drop > depositIndex - floor, so loss * WAD > scale * (depositIndex - floor) and borne < loss.
        return (floor, totalDepositScale.mulDivDown(depositIndex - floor, WAD));
    }

    /// @notice Deposit index after socialising `loss` token units over `totalDepositScale`.
    /// @dev The drop is rounded up so depositors lose at least `loss`; the index never reaches 0 (a
    /// zero index would make every later deposit divide by zero), so a loss above all deposits leaves 1.
    function socialise(uint256 depositIndex, uint256 totalDepositScale, uint256 loss)
        internal
        pure
        returns (uint256)
    {
        uint256 drop = loss.mulDivUp(WAD, totalDepositScale);
        return drop < depositIndex ? depositIndex - drop : 1;
    }
}
