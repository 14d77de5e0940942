// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.19;

import {Id, IMorpho, MarketParams, Market, Position} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";
import {MarketParamsLib} from "@morpho-org/morpho-blue/src/libraries/MarketParamsLib.sol";
import {MorphoBalancesLib} from "@morpho-org/morpho-blue/src/libraries/periphery/MorphoBalancesLib.sol";

/// @title MorphoReader
/// @notice The simulator's batch view of Morpho Blue: every market's totals as they would be after accruing
/// interest now, its fee, last update and oracle price, and every asked position, in one `eth_call`.
/// Simulation only (it is a view; nothing here is trusted by a contract).
contract MorphoReader {
    using MarketParamsLib for MarketParams;

    /// @notice A position to read: `user` in `markets[marketIndex]`.
    struct PositionQuery {
        uint256 marketIndex;
        address user;
    }

    /// @notice One market as of `timestamp`: totals accrued to it (Morpho's `MorphoBalancesLib`), `lastUpdate` and
    /// `fee` as stored, the oracle's price if `priceOk`, otherwise the oracle's revert data in `priceRevert`.
    struct MarketState {
        Id id;
        uint256 totalSupplyAssets;
        uint256 totalSupplyShares;
        uint256 totalBorrowAssets;
        uint256 totalBorrowShares;
        uint256 lastUpdate;
        uint256 fee;
        bool priceOk;
        uint256 price;
        bytes priceRevert;
    }

    /// @notice One position as of `timestamp` (the fee recipient's supply shares include the fee shares that
    /// accruing now would mint, so that supply shares add up to `totalSupplyShares`).
    struct PositionState {
        uint256 supplyShares;
        uint256 borrowShares;
        uint256 collateral;
    }

    /// @notice A Chainlink-style feed's latest round, or `ok` false when `latestRoundData` reverted or answered
    /// too little (the simulator values accounts in USD from the same feeds the oracles read).
    struct FeedState {
        bool ok;
        int256 answer;
        uint256 updatedAt;
    }

    /// @notice Position query `query` names market `marketIndex`, but only `markets` were given.
    error MarketIndexOutOfRange(uint256 query, uint256 marketIndex, uint256 markets);

    /// @notice Read `markets` (ids are derived from their params, as Morpho derives them) and `positions` of
    /// `morpho` in one call.
    /// @param morpho The Morpho Blue instance.
    /// @param markets The markets' params; a market not created reads as zeros (lastUpdate 0).
    /// @param positions (index into `markets`, user) pairs.
    /// @param feeds Chainlink-style feeds to read as well (`latestRoundData`).
    /// @return timestamp The block timestamp the totals are accrued to.
    /// @return marketStates One entry per `markets` entry, in order.
    /// @return positionStates One entry per `positions` entry, in order.
    /// @return feedStates One entry per `feeds` entry, in order.
    function snapshot(
        IMorpho morpho,
        MarketParams[] calldata markets,
        PositionQuery[] calldata positions,
        address[] calldata feeds
    )
        external
        view
        returns (
            uint256 timestamp,
            MarketState[] memory marketStates,
            PositionState[] memory positionStates,
            FeedState[] memory feedStates
        )
    {
        timestamp = block.timestamp;
        marketStates = new MarketState[](markets.length);
        uint256[] memory pendingFeeShares = new uint256[](markets.length);
        for (uint256 i; i < markets.length; ++i) {
            (marketStates[i], pendingFeeShares[i]) = _market(morpho, markets[i]);
        }
        address feeRecipient = morpho.feeRecipient();
        positionStates = new PositionState[](positions.length);
        for (uint256 j; j < positions.length; ++j) {
            uint256 m = positions[j].marketIndex;
            if (m >= markets.length) revert MarketIndexOutOfRange(j, m, markets.length);
            Position memory p = morpho.position(marketStates[m].id, positions[j].user);
            uint256 supplyShares = p.supplyShares;
            if (positions[j].user == feeRecipient) supplyShares += pendingFeeShares[m];
            positionStates[j] = PositionState(supplyShares, p.borrowShares, p.collateral);
        }
        feedStates = new FeedState[](feeds.length);
        for (uint256 k; k < feeds.length; ++k) {
            feedStates[k] = _feed(feeds[k]);
        }
    }

    /// @dev A feed's latest answer and update time; a low-level static call, so one bad feed reads as not ok.
    function _feed(address feed) internal view returns (FeedState memory f) {
        (bool ok, bytes memory answer) = feed.staticcall(abi.encodeWithSignature("latestRoundData()"));
        if (!ok || answer.length < 160) return f;
        (, int256 value,, uint256 updatedAt,) = abi.decode(answer, (uint80, int256, uint256, uint256, uint80));
        return FeedState(true, value, updatedAt);
    }

    /// @dev One market's state, and the fee shares accruing now would mint to the fee recipient.
    function _market(IMorpho morpho, MarketParams memory params)
        internal
        view
        returns (MarketState memory s, uint256 pendingFeeShares)
    {
        s.id = params.id();
        Market memory stored = morpho.market(s.id);
        (s.totalSupplyAssets, s.totalSupplyShares, s.totalBorrowAssets, s.totalBorrowShares) =
            MorphoBalancesLib.expectedMarketBalances(morpho, params);
        pendingFeeShares = s.totalSupplyShares - stored.totalSupplyShares;
        s.lastUpdate = stored.lastUpdate;
        s.fee = stored.fee;
        (s.priceOk, s.price, s.priceRevert) = _price(params.oracle);
    }

    /// @dev The oracle's price, or its revert data. A low-level static call rather than try/catch: try/catch does
    /// not catch a call to an address without code or an answer too short to decode, which would revert the batch.
    function _price(address oracle) internal view returns (bool ok, uint256 value, bytes memory revertData) {
        bytes memory answer;
        (ok, answer) = oracle.staticcall(abi.encodeCall(IOracle.price, ()));
        if (ok && answer.length >= 32) return (true, abi.decode(answer, (uint256)), "");
        return (false, 0, answer);
    }
}
