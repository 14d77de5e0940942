// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.19;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";

/// @title ChainlinkPairOracle
/// @notice Morpho Blue oracle over two Chainlink-style feeds quoted in the same unit (e.g. both in USD): the price
/// of 1 collateral asset in loan assets, scaled by 1e36 and corrected for token and feed decimals, computed as
/// Morpho's reference `ChainlinkOracle` (morpho-blue-oracles) computes it for one base and one quote feed.
/// @dev Like the reference, it reads each feed's `latestRoundData` once, reverts on a negative answer and does NOT
/// check staleness, round completeness or a zero answer: a stale feed keeps pricing the market, and a zero
/// collateral answer prices the collateral at 0 (a zero loan answer divides by zero). The simulator's scenarios
/// decide when a feed is stale; Morpho itself never asks. `SCALE_FACTOR × collateral answer` must fit in 256 bits
/// (it reverts with an overflow panic otherwise; the reference uses a 512-bit mulDiv): with 18-decimal tokens and
/// 8-decimal feeds SCALE_FACTOR is 1e36, leaving room for answers up to ~1e41.
contract ChainlinkPairOracle is IOracle {
    /// @notice `feed` answered `answer` < 0 (the reference reverts with "negative answer").
    error NegativeAnswer(address feed, int256 answer);
    /// @notice `loanSide` = 36 + loan token decimals + loan feed decimals is below `collateralSide` = collateral
    /// token decimals + collateral feed decimals: no integer scale factor gives a 1e36-scaled price.
    error ScaleExponentNegative(uint256 collateralSide, uint256 loanSide);

    /// @notice Feed of the collateral asset's price (the reference's base feed).
    AggregatorV3Interface public immutable COLLATERAL_FEED;
    /// @notice Feed of the loan asset's price in the same unit (the reference's quote feed).
    AggregatorV3Interface public immutable LOAN_FEED;
    /// @notice 10 ** (36 + loanDecimals + loanFeedDecimals - collateralDecimals - collateralFeedDecimals).
    uint256 public immutable SCALE_FACTOR;

    /// @param collateralFeed Chainlink-style feed of the collateral asset.
    /// @param loanFeed Chainlink-style feed of the loan asset, in the collateral feed's unit.
    /// @param collateralTokenDecimals Decimals of the collateral token (as the reference, passed in, not read).
    /// @param loanTokenDecimals Decimals of the loan token.
    constructor(
        AggregatorV3Interface collateralFeed,
        AggregatorV3Interface loanFeed,
        uint256 collateralTokenDecimals,
        uint256 loanTokenDecimals
    ) {
        COLLATERAL_FEED = collateralFeed;
        LOAN_FEED = loanFeed;
        // 1e36 × (pC / 10^cDec) / (pL / 10^lDec), with the feeds answering pC × 10^cFeedDec and pL × 10^lFeedDec.
        uint256 up = 36 + loanTokenDecimals + loanFeed.decimals();
        uint256 down = collateralTokenDecimals + collateralFeed.decimals();
        if (down > up) revert ScaleExponentNegative(down, up);
        SCALE_FACTOR = 10 ** (up - down);
    }

    /// @notice The price of 1 collateral asset quoted in loan assets, scaled by 1e36 (Morpho's `IOracle`).
    /// @return SCALE_FACTOR × collateral answer / loan answer, rounded down.
    function price() external view returns (uint256) {
        return SCALE_FACTOR * _answer(COLLATERAL_FEED) / _answer(LOAN_FEED);
    }

    /// @dev The latest answer of `feed`, which must not be negative.
    function _answer(AggregatorV3Interface feed) internal view returns (uint256) {
        (, int256 answer,,,) = feed.latestRoundData();
        if (answer < 0) revert NegativeAnswer(address(feed), answer);
        return uint256(answer);
    }
}
