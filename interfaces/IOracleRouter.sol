// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IOracleRouter
/// @notice The only source of prices for the Vault: reads Chainlink-style feeds, rejects bad rounds and
/// normalises every answer to USD per whole token with 18 decimals (WAD).
/// @dev Every refusal is a revert of `price`, so the vault treats each guard error exactly like StalePrice:
/// borrow, withdraw with debt, liquidate and the account views that price the asset revert; deposit, repay and
/// withdraw without debt need no price and keep working (I19, I22). Liquidations are deliberately NOT exempted
/// from the guards: a price known to be wrong (clamped at a bound, moved beyond the band, or read while the
/// sequencer is down or in its grace period) would seize collateral at that wrong price. Chainlink's guidance is
/// that a consumer must not act on an answer at its min/max bound, and Aave v3's PriceOracleSentinel likewise
/// blocks liquidations while the sequencer is down and during the grace period after it comes back, so that
/// users get time to repair their positions at a trusted price.
interface IOracleRouter {
    /// @notice A registered feed. `decimals` is cached from the feed when it is set; `guards` has one bit per
    /// guard set on the feed (GUARD_BOUNDS, GUARD_BAND, GUARD_SEQUENCER), so a feed without guards costs no
    /// extra storage read.
    struct Feed {
        AggregatorV3Interface feed;
        uint32 heartbeat;
        uint8 decimals;
        uint8 guards;
    }

    /// @notice Price bounds of a feed, 18 decimals: a price at or below `minPrice`, or at or above `maxPrice`,
    /// is not trusted (a Chainlink aggregator clamps its answer to its min/max answer).
    struct Bounds {
        uint128 minPrice;
        uint128 maxPrice;
    }

    /// @notice The circuit breaker of a feed: a price more than `maxMoveBps` away from `reference` (the last
    /// accepted price, 18 decimals, accepted at `refTime`) is not trusted. The reference moves forward at
    /// most once per `window` seconds (poke), so a move is always measured over at least one window and a
    /// series of small pokes cannot walk the price away; the governor re-arms a tripped breaker (resetBreaker).
    struct Band {
        uint128 refPrice;
        uint40 refTime;
        uint16 maxMoveBps;
        uint32 window;
    }

    /// @notice An L2 sequencer uptime feed (Chainlink: answer 0 = up, 1 = down; startedAt = when the status
    /// last changed) and the grace period after it comes back up.
    struct Sequencer {
        AggregatorV3Interface feed;
        uint32 gracePeriod;
    }

    /// @notice `asset` is now priced by `feed`, whose answers older than `heartbeat` seconds are stale.
    event FeedSet(address indexed asset, address indexed feed, uint32 heartbeat, uint8 decimals);
    /// @notice Governance moved from `previous` to `governor`.
    event GovernorSet(address indexed previous, address indexed governor);
    /// @notice `governor` proposed `pendingGovernor` as its successor (it takes over by `acceptGovernance`).
    event GovernorProposed(address indexed governor, address indexed pendingGovernor);
    /// @notice `asset`'s price bounds are now (`minPrice`, `maxPrice`); both 0 and max = no bounds.
    event FeedBoundsSet(address indexed asset, uint128 minPrice, uint128 maxPrice);
    /// @notice `asset`'s circuit breaker allows `maxMoveBps` per `window` seconds (0 = off).
    event PriceBandSet(address indexed asset, uint16 maxMoveBps, uint32 window);
    /// @notice `asset`'s breaker now measures moves against `reference` (by poke, or by the governor's reset).
    event ReferencePriceSet(address indexed asset, uint256 refPrice, bool byGovernor);
    /// @notice `asset` is now read only while `sequencer` is up and past `gracePeriod` (zero address = off).
    event SequencerFeedSet(address indexed asset, address indexed sequencer, uint32 gracePeriod);

    /// @notice The caller is not the governor.
    error NotGovernor(address caller);
    /// @notice The caller is not the governor-elect.
    error NotPendingGovernor(address caller);
    /// @notice A zero address was given where a contract or account is required.
    error ZeroAddress();
    /// @notice A heartbeat of 0 would make every round stale.
    error ZeroHeartbeat();
    /// @notice The feed reports more than 36 decimals.
    error FeedDecimalsOutOfRange(uint8 decimals);
    /// @notice `feed` does not answer `latestRoundData()` (e.g. a DEX pool or a TWAP contract given by mistake).
    error NotAnAggregator(address feed);
    /// @notice No feed is registered for `asset`.
    error NoFeed(address asset);
    /// @notice The feed answered 0 or less (or an answer that normalises to 0).
    error NonPositivePrice(int256 answer);
    /// @notice The round was last updated more than `heartbeat` seconds ago.
    error StalePrice(uint256 updatedAt, uint32 heartbeat);
    /// @notice The round has no update time or was answered in an earlier round.
    error IncompleteRound(uint80 roundId, uint80 answeredInRound, uint256 updatedAt);
    /// @notice The round claims to be updated after this block (`updatedAt` > `nowTime`): a broken or forged feed.
    error FuturePrice(uint256 updatedAt, uint256 nowTime);
    /// @notice The price (18 decimals) is at or beyond one of its feed's bounds (`minPrice`, `maxPrice`).
    error PriceOutOfBounds(uint256 price, uint128 minPrice, uint128 maxPrice);
    /// @notice The price moved more than `maxMoveBps` from `reference`, the last accepted price: the breaker is
    /// tripped until the price comes back inside the band or the governor resets it.
    error PriceMoveTooLarge(uint256 price, uint256 refPrice, uint16 maxMoveBps);
    /// @notice The sequencer uptime feed reports the sequencer down (or an uninitialised round).
    error SequencerDown(address sequencer);
    /// @notice The sequencer came back up at `upSince`, less than `gracePeriod` seconds ago.
    error SequencerGracePeriod(uint256 upSince, uint32 gracePeriod);
    /// @notice Bounds must satisfy minPrice < maxPrice.
    error InvalidBounds(uint128 minPrice, uint128 maxPrice);
    /// @notice A band needs 0 < maxMoveBps <= 10,000 and 0 < window <= 365 days.
    error InvalidBand(uint16 maxMoveBps, uint32 window);
    /// @notice The grace period must be at most 7 days.
    error InvalidGracePeriod(uint32 gracePeriod);
    /// @notice `asset` has no circuit breaker (poke, resetBreaker).
    error NoBand(address asset);

    /// @notice The address allowed to set feeds and guards.
    function governor() external view returns (address);

    /// @notice The governor-elect of a two-step hand-over; zero if none.
    function pendingGovernor() external view returns (address);

    /// @notice Propose `newGovernor` as the next governor (step one of two). Governor only; emits
    /// `GovernorProposed`; a later proposal replaces it. Reverts `ZeroAddress` for the zero address.
    function setGovernor(address newGovernor) external;

    /// @notice Take over governance (step two), by the governor-elect only (`NotPendingGovernor` otherwise);
    /// emits `GovernorSet` and clears the proposal.
    function acceptGovernance() external;

    /// @notice Price `asset` with `feed`; rounds older than `heartbeat` seconds are rejected. Governor only.
    /// @dev Reads and caches `feed.decimals()`, which must be at most 36, and requires `feed.latestRoundData()`
    /// to answer (its values are judged on every read, not here: a feed may be briefly stale when registered).
    /// Keeps the guards already set for `asset`.
    function setFeed(address asset, AggregatorV3Interface feed, uint32 heartbeat) external;

    /// @notice Refuse `asset`'s price at or below `minPrice` or at or above `maxPrice` (18 decimals). Governor
    /// only. `minPrice` 0 means no floor, `maxPrice` type(uint128).max no cap; both together switch bounds off.
    /// @dev Reverts NoFeed without a feed, InvalidBounds unless minPrice < maxPrice.
    function setFeedBounds(address asset, uint128 minPrice, uint128 maxPrice) external;

    /// @notice Arm `asset`'s circuit breaker: refuse a price more than `maxMoveBps` (of 10,000) away from the
    /// last accepted price; the reference moves forward at most once per `window` seconds. `maxMoveBps` 0
    /// switches it off. Governor only.
    /// @dev Accepts the current price as the refPrice, so the feed must answer a trusted price now (all other
    /// guards apply). Reverts NoFeed, InvalidBand.
    function setPriceBand(address asset, uint16 maxMoveBps, uint32 window) external;

    /// @notice Read `asset` only while `sequencer` reports up and came up more than `gracePeriod` seconds ago.
    /// Zero address switches it off. Governor only.
    /// @dev Reverts NoFeed, InvalidGracePeriod (> 7 days), NotAnAggregator.
    function setSequencerFeed(address asset, AggregatorV3Interface sequencer, uint32 gracePeriod) external;

    /// @notice Move `asset`'s breaker reference to the current price, if the reference is at least one window
    /// old and the price is trusted (inside the band among others). Anyone may call it (a keeper).
    /// @dev Reverts NoBand, or the price's own error (a tripped breaker stays tripped). Returns the price.
    function poke(address asset) external returns (uint256);

    /// @notice Re-arm `asset`'s tripped breaker at the current feed price. Governor only.
    /// @dev Every other guard applies to the new reference. Reverts NoBand.
    function resetBreaker(address asset) external returns (uint256);

    /// @notice USD per one whole `asset` token, 18 decimals.
    /// @dev Reverts NoFeed, NonPositivePrice, IncompleteRound, FuturePrice or StalePrice, and when guards are
    /// set PriceOutOfBounds, PriceMoveTooLarge, SequencerDown or SequencerGracePeriod; never returns 0.
    function price(address asset) external view returns (uint256);

    /// @notice Whether `asset` has a feed.
    function hasFeed(address asset) external view returns (bool);

    /// @notice The registered feed of `asset` (zero struct if none).
    function feedOf(address asset) external view returns (Feed memory);

    /// @notice The guards of `asset`: bounds, circuit breaker and sequencer (zero structs where unset).
    function guardsOf(address asset) external view returns (Bounds memory, Band memory, Sequencer memory);
}
