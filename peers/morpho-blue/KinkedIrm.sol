// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.19;

import {IIrm} from "@morpho-org/morpho-blue/src/interfaces/IIrm.sol";
import {MarketParams, Market} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {MathLib, WAD} from "@morpho-org/morpho-blue/src/libraries/MathLib.sol";

/// @title KinkedIrm
/// @notice Morpho Blue interest-rate model with marginlab's kinked curve (contracts/InterestRateModel.sol): base +
/// slope1 × u / kink up to the kink, then slope2 on top for the part of utilisation above it; yearly WAD rates
/// divided by 365 days for the per-second rate Morpho compounds. A scenario's `irm:` therefore means the same
/// borrow rate on both protocols at the same utilisation, to the wei.
/// @dev Utilisation is totalBorrowAssets / totalSupplyAssets of the `Market` Morpho passes (rounded down, capped at
/// 1e18, 0 without supply), as our vault computes it from its totals. Stateless: `borrowRate` is `borrowRateView`.
/// Every product fits in 256 bits (rates are far below 2^128, utilisation at most 1e18, assets below 2^128), so
/// Morpho's plain `mulDivDown` gives the same integers as the vault's 512-bit one.
contract KinkedIrm is IIrm {
    using MathLib for uint256;

    /// @notice The kink is 0 or above 1e18 (same condition and error as the vault's rate model).
    error InvalidKink(uint256 kink);

    /// @notice Seconds in the year the yearly rates are divided by.
    uint256 public constant SECONDS_PER_YEAR = 365 days;

    /// @notice Borrow rate per year at 0 utilisation (WAD).
    uint256 public immutable baseRatePerYear;
    /// @notice Rate added per year between 0 and the kink (WAD).
    uint256 public immutable slope1PerYear;
    /// @notice Rate added per year between the kink and full utilisation (WAD).
    uint256 public immutable slope2PerYear;
    /// @notice Optimal utilisation (WAD), 0 < kink <= 1e18.
    uint256 public immutable kink;

    /// @param baseRatePerYear_ Yearly base rate (WAD).
    /// @param slope1PerYear_ Yearly rate added from 0 to the kink (WAD).
    /// @param slope2PerYear_ Yearly rate added from the kink to 100 % (WAD).
    /// @param kink_ Kink utilisation (WAD).
    constructor(uint256 baseRatePerYear_, uint256 slope1PerYear_, uint256 slope2PerYear_, uint256 kink_) {
        if (kink_ == 0 || kink_ > WAD) revert InvalidKink(kink_);
        baseRatePerYear = baseRatePerYear_;
        slope1PerYear = slope1PerYear_;
        slope2PerYear = slope2PerYear_;
        kink = kink_;
    }

    /// @notice Borrow rate per second (WAD) of a market with totals `market` (Morpho's `IIrm`).
    /// @dev Called by Morpho on every accrual; reads no storage of its own and writes none.
    function borrowRate(MarketParams memory marketParams, Market memory market) external view returns (uint256) {
        return borrowRateView(marketParams, market);
    }

    /// @notice Borrow rate per second (WAD) of a market with totals `market`, without writing storage.
    function borrowRateView(MarketParams memory, Market memory market) public view returns (uint256) {
        return borrowRatePerYear(utilization(market.totalBorrowAssets, market.totalSupplyAssets)) / SECONDS_PER_YEAR;
    }

    /// @notice Borrows / supply in WAD, rounded down and capped at 1e18; 0 without supply.
    function utilization(uint256 totalBorrowAssets, uint256 totalSupplyAssets) public pure returns (uint256) {
        if (totalSupplyAssets == 0) return 0;
        uint256 u = totalBorrowAssets.wDivDown(totalSupplyAssets);
        return u > WAD ? WAD : u;
    }

    /// @notice Borrow rate per year (WAD) at `utilization_` (WAD), rounded down.
    function borrowRatePerYear(uint256 utilization_) public view returns (uint256) {
        if (utilization_ <= kink || kink == WAD) return baseRatePerYear + slope1PerYear.mulDivDown(utilization_, kink);
        return baseRatePerYear + slope1PerYear + slope2PerYear.mulDivDown(utilization_ - kink, WAD - kink);
    }
}
