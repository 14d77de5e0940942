// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IOracleRouter} from "../interfaces/IOracleRouter.sol";

/// @title OracleRouter
/// @notice Chainlink-style feeds behind one checked, 18-decimal price per asset, with optional per-feed guards:
/// price bounds, a circuit breaker against the last accepted price, and an L2 sequencer uptime feed.
/// @dev Only push feeds (no AMM spot, no short TWAP): a price cannot be moved inside the transaction that
/// reads it (bZx / Inverse incidents). A guard refuses by reverting `price`, exactly like StalePrice, so the
/// vault refuses borrow, withdraw (with debt) and liquidate on that asset while deposit and repay work (I22);
/// see IOracleRouter for why liquidations are refused too. Guards are off unless set; which are set is a bit
/// mask in the feed's own slot, so an unguarded read costs the one storage read it always did.
contract OracleRouter is IOracleRouter {
    uint8 internal constant WAD_DECIMALS = 18;
    uint8 internal constant MAX_FEED_DECIMALS = 36;
    uint8 internal constant GUARD_BOUNDS = 1;
    uint8 internal constant GUARD_BAND = 2;
    uint8 internal constant GUARD_SEQUENCER = 4;
    uint16 internal constant BPS = 10_000;
    uint32 internal constant MAX_WINDOW = 365 days;
    uint32 internal constant MAX_GRACE_PERIOD = 7 days;

    /// @inheritdoc IOracleRouter
    address public governor;
    mapping(address asset => Feed) internal _feeds;
    mapping(address asset => Bounds) internal _bounds;
    mapping(address asset => Band) internal _bands;
    mapping(address asset => Sequencer) internal _sequencers;
    /// @inheritdoc IOracleRouter
    address public pendingGovernor;

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    constructor(address governor_) {
        if (governor_ == address(0)) revert ZeroAddress();
        governor = governor_;
        emit GovernorSet(address(0), governor_);
    }

    /// @inheritdoc IOracleRouter
    function setGovernor(address newGovernor) external onlyGovernor {
        if (newGovernor == address(0)) revert ZeroAddress();
        pendingGovernor = newGovernor;
        emit GovernorProposed(msg.sender, newGovernor);
    }

    /// @inheritdoc IOracleRouter
    function acceptGovernance() external {
        address pending = pendingGovernor;
        if (msg.sender != pending) revert NotPendingGovernor(msg.sender);
        emit GovernorSet(governor, pending);
        governor = pending;
        pendingGovernor = address(0);
    }

    /// @inheritdoc IOracleRouter
    function setFeed(address asset, AggregatorV3Interface feed, uint32 heartbeat) external onlyGovernor {
        if (asset == address(0) || address(feed) == address(0)) revert ZeroAddress();
        if (heartbeat == 0) revert ZeroHeartbeat();
        uint8 dec = feed.decimals();
        if (dec > MAX_FEED_DECIMALS) revert FeedDecimalsOutOfRange(dec);
        _requireAggregator(feed);
        _feeds[asset] = Feed({feed: feed, heartbeat: heartbeat, decimals: dec, guards: _feeds[asset].guards});
        emit FeedSet(asset, address(feed), heartbeat, dec);
    }

    /// @inheritdoc IOracleRouter
    function setFeedBounds(address asset, uint128 minPrice, uint128 maxPrice) external onlyGovernor {
        _requireFeed(asset);
        if (minPrice >= maxPrice) revert InvalidBounds(minPrice, maxPrice);
        _bounds[asset] = Bounds(minPrice, maxPrice);
        _setGuard(asset, GUARD_BOUNDS, minPrice != 0 || maxPrice != type(uint128).max);
        emit FeedBoundsSet(asset, minPrice, maxPrice);
    }

    /// @inheritdoc IOracleRouter
    function setPriceBand(address asset, uint16 maxMoveBps, uint32 window) external onlyGovernor {
        _requireFeed(asset);
        if (maxMoveBps == 0) {
            delete _bands[asset];
            _setGuard(asset, GUARD_BAND, false);
            emit PriceBandSet(asset, 0, 0);
            return;
        }
        if (maxMoveBps > BPS || window == 0 || window > MAX_WINDOW) revert InvalidBand(maxMoveBps, window);
        _setGuard(asset, GUARD_BAND, false); // the first reference is judged by every other guard
        uint256 p = _price(asset);
        // A reference above uint128 (3.4e20 USD per token) is refused, never truncated.
        _bands[asset] = Band(SafeCast.toUint128(p), uint40(block.timestamp), maxMoveBps, window);
        _setGuard(asset, GUARD_BAND, true);
        emit PriceBandSet(asset, maxMoveBps, window);
        emit ReferencePriceSet(asset, p, true);
    }

    /// @inheritdoc IOracleRouter
    function setSequencerFeed(address asset, AggregatorV3Interface sequencer, uint32 gracePeriod)
        external
        onlyGovernor
    {
        _requireFeed(asset);
        if (gracePeriod > MAX_GRACE_PERIOD) revert InvalidGracePeriod(gracePeriod);
        if (address(sequencer) != address(0)) _requireAggregator(sequencer);
        _sequencers[asset] = Sequencer(sequencer, gracePeriod);
        _setGuard(asset, GUARD_SEQUENCER, address(sequencer) != address(0));
        emit SequencerFeedSet(asset, address(sequencer), gracePeriod);
    }

    /// @inheritdoc IOracleRouter
    function poke(address asset) external returns (uint256 p) {
        Band memory b = _bands[asset];
        // slither-disable-next-line incorrect-equality -- 0 is the unset value of a governor-set field, not a balance
        if (b.maxMoveBps == 0) revert NoBand(asset);
        p = _price(asset); // reverts PriceMoveTooLarge outside the band: a tripped breaker stays tripped
        if (block.timestamp - b.refTime >= b.window) {
            _bands[asset].refPrice = SafeCast.toUint128(p);
            _bands[asset].refTime = uint40(block.timestamp);
            emit ReferencePriceSet(asset, p, false);
        }
    }

    /// @inheritdoc IOracleRouter
    function resetBreaker(address asset) external onlyGovernor returns (uint256 p) {
        // slither-disable-next-line incorrect-equality -- 0 is the unset value of a governor-set field, not a balance
        if (_bands[asset].maxMoveBps == 0) revert NoBand(asset);
        _setGuard(asset, GUARD_BAND, false);
        p = _price(asset);
        _setGuard(asset, GUARD_BAND, true);
        _bands[asset].refPrice = SafeCast.toUint128(p);
        _bands[asset].refTime = uint40(block.timestamp);
        emit ReferencePriceSet(asset, p, true);
    }

    /// @inheritdoc IOracleRouter
    function price(address asset) external view returns (uint256) {
        return _price(asset);
    }

    /// @inheritdoc IOracleRouter
    function hasFeed(address asset) external view returns (bool) {
        return address(_feeds[asset].feed) != address(0);
    }

    /// @inheritdoc IOracleRouter
    function feedOf(address asset) external view returns (Feed memory) {
        return _feeds[asset];
    }

    /// @inheritdoc IOracleRouter
    function guardsOf(address asset) external view returns (Bounds memory, Band memory, Sequencer memory) {
        return (_bounds[asset], _bands[asset], _sequencers[asset]);
    }

    function _price(address asset) internal view returns (uint256 wad) {
        Feed memory f = _feeds[asset];
        if (address(f.feed) == address(0)) revert NoFeed(asset);
        // The sequencer first (Aave's PriceOracleSentinel order): while it is down, L2 feeds cannot be updated.
        if (f.guards & GUARD_SEQUENCER != 0) _checkSequencer(_sequencers[asset]);
        // slither-disable-next-line unused-return -- startedAt is not needed: staleness is judged on updatedAt, completeness on answeredInRound (I20)
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = f.feed.latestRoundData();
        if (answer <= 0) revert NonPositivePrice(answer);
        if (updatedAt == 0 || answeredInRound < roundId) revert IncompleteRound(roundId, answeredInRound, updatedAt);
        // A round from the future cannot be judged for age: a broken or forged feed, refused.
        if (updatedAt > block.timestamp) revert FuturePrice(updatedAt, block.timestamp);
        if (block.timestamp - updatedAt > f.heartbeat) revert StalePrice(updatedAt, f.heartbeat);
        if (f.decimals <= WAD_DECIMALS) {
            wad = uint256(answer) * 10 ** (WAD_DECIMALS - f.decimals);
        } else {
            wad = uint256(answer) / 10 ** (f.decimals - WAD_DECIMALS);
            if (wad == 0) revert NonPositivePrice(answer);
        }
        if (f.guards & GUARD_BOUNDS != 0) {
            Bounds memory bd = _bounds[asset];
            // At the bound is not trusted either: an aggregator clamps its answer to exactly its min/max answer.
            if (wad <= bd.minPrice || wad >= bd.maxPrice) revert PriceOutOfBounds(wad, bd.minPrice, bd.maxPrice);
        }
        if (f.guards & GUARD_BAND != 0) {
            Band memory b = _bands[asset];
            uint256 ref = b.refPrice;
            uint256 diff = wad > ref ? wad - ref : ref - wad;
            if (diff * BPS > ref * b.maxMoveBps) revert PriceMoveTooLarge(wad, ref, b.maxMoveBps);
        }
    }

    function _checkSequencer(Sequencer memory s) internal view {
        // slither-disable-next-line unused-return -- an uptime feed carries its status in answer and its change time in startedAt only
        (, int256 status, uint256 startedAt,,) = s.feed.latestRoundData();
        // startedAt 0: an uninitialised round (seen on Arbitrum's feed): not known to be up.
        if (status != 0 || startedAt == 0) revert SequencerDown(address(s.feed));
        if (block.timestamp - startedAt <= s.gracePeriod) revert SequencerGracePeriod(startedAt, s.gracePeriod);
    }

    function _requireFeed(address asset) internal view {
        if (address(_feeds[asset].feed) == address(0)) revert NoFeed(asset);
    }

    function _requireAggregator(AggregatorV3Interface feed) internal view {
        // A contract with decimals() but no latestRoundData() (an ERC-20 LP token, a DEX pool) is refused here,
        // not at the first price read. A call that returns too little data reverts outside the try, also a refusal.
        // slither-disable-next-line unused-return -- only whether the feed answers matters at registration
        try feed.latestRoundData() returns (uint80, int256, uint256, uint256, uint80) {}
        catch {
            revert NotAnAggregator(address(feed));
        }
    }

    function _setGuard(address asset, uint8 bit, bool on) internal {
        Feed storage f = _feeds[asset];
        f.guards = on ? f.guards | bit : f.guards & ~bit;
    }
}
