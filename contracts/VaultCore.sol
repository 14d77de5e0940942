// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IVaultBase} from "../interfaces/IVaultBase.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IInterestRateModel} from "../interfaces/IInterestRateModel.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";

/// @title VaultCore
/// @notice The vault's storage layout and the internals both of its code objects use: interest, health and
/// balances. `Vault` (user actions, governance, views) and `VaultLiquidation` (liquidation and bad debt, run
/// by delegatecall) derive from it, so they share one storage layout slot for slot.
/// @dev No external functions here: whatever is external belongs to exactly one of the two contracts. Every
/// read of an index goes through `_accruedIndexes`, so views and health checks see accrued values while an
/// action only writes (accrues) the markets it touches. Storage order matters: both contracts must derive
/// from this contract alone (plus interfaces), never declare state of their own.
abstract contract VaultCore is IVaultBase, ReentrancyGuard {
    using SafeCast for uint256;
    using SafeERC20 for IERC20;
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_MARKETS = 16;
    uint8 internal constant MAX_DECIMALS = 36;
    /// @dev The protocol's own sub-account `(address(this), PROTOCOL_SUB_ID)` holds absorbed collateral.
    uint8 internal constant PROTOCOL_SUB_ID = 0;
    /// @dev Debt bits live in the high half of an account's mask word, deposit bits in the low half.
    uint256 internal constant DEBT_SHIFT = 128;
    uint256 internal constant LOW_MASK = (1 << DEBT_SHIFT) - 1;
    /// @dev The deposit index never falls below this (a millionth of its start): a loss that would push it lower
    /// is recorded as a deficit instead, so a wiped-out market's next deposit gets at most 1e6 scale per token
    /// unit and cannot overflow the books, and the old scale keeps at most a millionth of its claim.
    uint256 internal constant MIN_DEPOSIT_INDEX = 1e12;
    /// @dev The most token units the books hold at the floor index: a scale above 2^128 - 1 cannot be stored.
    uint256 internal constant MAX_BOOK_AMOUNT = (uint256(type(uint128).max) * MIN_DEPOSIT_INDEX) / WAD;
    /// @dev A market without a supply cap must hold a million whole tokens at the floor index: at most 26 decimals.
    uint8 internal constant MAX_UNCAPPED_DECIMALS = 26;
    /// @dev A price the router refused, memoised in a batch view's cache (a real price is far below it).
    uint256 internal constant PRICE_UNREADABLE = type(uint256).max;

    /// @dev Packed so that valuing a market reads three state slots besides its params: the two indexes,
    /// the two total scales, and reserves with the accrual time and listing data. 2^128 is ~3.4e20 whole
    /// tokens of 18 decimals; a write beyond it reverts (SafeCastOverflowedUintDowncast) rather than wraps.
    struct Market {
        MarketParams params;
        uint128 depositIndex;
        uint128 borrowIndex;
        uint128 totalDepositScale;
        uint128 totalBorrowScale;
        uint128 reserves;
        uint64 lastAccrual;
        uint8 decimals;
        uint8 index;
        bool listed;
        /// @dev `deficit != 0`, kept beside `reserves` so that the liquidity check of every borrow and withdrawal
        /// reads the deficit's own slot only in a market that has one (the accrual already loaded this slot).
        bool hasDeficit;
        /// @dev A loss no depositor was left to bear (token units, Aave 3.3's deficit): recorded when bad debt is
        /// settled, only ever lowered by `coverDeficit` / `coverDeficitFromReserves`. Appended: no slot moved.
        uint128 deficit;
    }

    /// @dev Per-call memo by market index: router prices and accrued indexes, so a call that values many
    /// sub-accounts (or one sub-account twice) reads each feed and previews each market's interest once.
    /// Zero = not read yet (the router never returns 0; a borrow index never falls below 1e18).
    struct Cache {
        uint256[] prices;
        uint256[] depositIndex;
        uint256[] borrowIndex;
    }

    /// @dev Health sums of one sub-account, USD WAD.
    struct Health {
        uint256 collateralValue;
        uint256 debtValue;
        uint256 collInit;
        uint256 collMaint;
        uint256 debtInit;
        uint256 debtMaint;
    }

    /// @dev Immutable, so it lives in code: the vault's constructor checks that its modules were built with
    /// the same router (`IVaultModule.moduleIdentity`).
    IOracleRouter internal immutable _router;
    /// @dev What each module's `moduleIdentity` returns; the vault's constructor refuses any other code.
    bytes32 internal constant GOVERNANCE_MODULE_ID = keccak256("marginlab.VaultGovernance.v1");
    bytes32 internal constant LIQUIDATION_MODULE_ID = keccak256("marginlab.VaultLiquidation.v1");

    // The vault's storage, shared slot for slot by the vault and its two modules (which run by delegatecall):
    // each variable is written by one of the three and read by the others. slither analyses each contract
    // alone, so it reports variables a contract only reads as never initialised (or as constants), and
    // variables it never touches as unused; the `disable` lines below say so once per variable.
    // slither-disable-next-line uninitialized-state,constable-states,immutable-states,unused-state
    address internal _governor;
    // slither-disable-next-line uninitialized-state,constable-states,immutable-states,unused-state
    address internal _guardian;
    /// @dev Dust minimums of a liquidation (USD WAD), one slot.
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    uint128 internal _minDebtLeftValue = 1e18;
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    uint128 internal _minCollateralLeftValue = 1e18;
    /// @dev Pause flags, the liquidation policy and the liquidation grace period share one slot: a liquidation
    /// reads them all with one load (the grace fields were appended to the slot, so no later slot moved).
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    bool internal _borrowPaused;
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    bool internal _withdrawPaused;
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    bool internal _liquidatePaused;
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    LiquidationPolicy internal _policy;
    /// @dev Liquidations stay refused until this time (seconds) after the governor unpauses them.
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    uint48 internal _liquidationGraceUntil;
    /// @dev The grace period (seconds, at most MAX_LIQUIDATION_GRACE_PERIOD) an unpause of liquidations starts.
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    uint32 internal _liquidationGracePeriod;
    /// @dev The policies' parameters, two slots (CloseFactor reads only the first).
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    LiquidationParams internal _liqParams = LiquidationParams({
        closeFactor: 0.5e18,
        fullCloseHealthFactor: 0.95e18,
        incentiveCursor: 0.3e18,
        maxIncentive: 0.15e18,
        maxDiscount: 0.15e18,
        targetHealthFactor: 1.02e18,
        storeFrontFactor: 0.5e18
    });
    // slither-disable-next-line unused-state
    mapping(address owner => mapping(address operator => bool)) internal _isOperator;
    // slither-disable-next-line unused-state
    mapping(address owner => uint256) internal _nonces;
    mapping(address token => Market) internal _markets;
    // slither-disable-next-line uninitialized-state
    address[] internal _marketList;
    /// @dev Signed scaled balance per account key and token.
    mapping(uint256 key => mapping(address token => int256)) internal _scaled;
    /// @dev Per account key: bit i (low half) = deposit in market i, bit 128 + i = debt in market i.
    mapping(uint256 key => uint256) internal _masks;
    /// @dev The governor-elect of a two-step hand-over (zero: none); appended so no earlier slot moved.
    // slither-disable-next-line uninitialized-state,constable-states,unused-state
    address internal _pendingGovernor;

    constructor(IOracleRouter router_) {
        _router = router_;
    }

    /* INTERNAL: INTEREST */

    function _previewAccrual(Market storage m) internal view returns (MarketMath.Accrual memory a) {
        uint256 borrowScale = m.totalBorrowScale;
        if (borrowScale == 0) {
            a.borrowIndex = m.borrowIndex;
            a.depositIndex = m.depositIndex;
            return a;
        }
        uint256 util = MarketMath.utilization(_totalBorrows(m), _totalDeposits(m));
        uint256 rate = IInterestRateModel(m.params.irm).borrowRatePerSecond(util);
        a = MarketMath.accrue(
            m.borrowIndex,
            m.depositIndex,
            borrowScale,
            m.totalDepositScale,
            rate,
            block.timestamp - m.lastAccrual,
            m.params.reserveFactor
        );
    }

    /// @dev Indexes and reserves as if accrued now, without writing.
    function _accruedIndexes(Market storage m)
        internal
        view
        returns (uint256 depositIndex, uint256 borrowIndex, uint256 reserves)
    {
        // slither-disable-next-line incorrect-equality -- exact timestamp match = already accrued this block; no attacker can make it wrongly true
        if (m.lastAccrual == block.timestamp) return (m.depositIndex, m.borrowIndex, m.reserves);
        MarketMath.Accrual memory a = _previewAccrual(m);
        return (a.depositIndex, a.borrowIndex, m.reserves + a.reserveCut);
    }

    function _accrue(Market storage m, address token) internal {
        // slither-disable-next-line incorrect-equality -- exact timestamp match = already accrued this block; no attacker can make it wrongly true
        if (m.lastAccrual == block.timestamp) return;
        MarketMath.Accrual memory a = _previewAccrual(m);
        m.borrowIndex = a.borrowIndex.toUint128();
        m.depositIndex = a.depositIndex.toUint128();
        m.reserves = SafeCast.toUint128(m.reserves + a.reserveCut);
        m.lastAccrual = uint64(block.timestamp);
        emit Accrued(token, a.borrowIndex, a.depositIndex, a.reserveCut, a.interest);
    }

    /* INTERNAL: HEALTH */

    function _requireHealthy(uint256 key) internal view {
        Health memory h = _health(key, _newCache());
        if (h.collInit < h.debtInit) revert AccountUnhealthy(_signedDiff(h.collInit, h.debtInit));
    }

    /// @dev Health sums over the markets the account holds, prices and indexes memoised in `cache`.
    function _health(uint256 key, Cache memory cache) internal view returns (Health memory h) {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            address token = _marketList[i];
            _accumulate(h, _markets[token], _scaled[key][token], cache, i, token);
        }
    }

    /// @dev `_health` as if the account's scaled balance in market `iA` were `scaledA` and in market `iB` were
    /// `scaledB` (an index >= MAX_MARKETS overrides nothing): what a view needs to value a change it does not
    /// make. Only markets the account holds now are visited, so the override of a market it does not hold is ignored.
    function _healthWith(uint256 key, Cache memory cache, uint256 iA, int256 scaledA, uint256 iB, int256 scaledB)
        internal
        view
        returns (Health memory h)
    {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            address token = _marketList[i];
            // slither-disable-next-line incorrect-equality -- market numbers, not amounts: nothing a caller can steer
            int256 scaled = i == iA ? scaledA : (i == iB ? scaledB : _scaled[key][token]);
            _accumulate(h, _markets[token], scaled, cache, i, token);
        }
    }

    /// @dev Adds one balance (market `i`) to the health sums and returns its signed underlying amount.
    function _accumulate(Health memory h, Market storage m, int256 scaled, Cache memory cache, uint256 i,
        address token) internal view returns (int256 amount) {
        (uint256 depositIndex, uint256 borrowIndex) = _indexes(cache, i, m);
        amount = _underlying(scaled, depositIndex, borrowIndex);
        uint256 price = _price(cache, i, token); // even for a zero amount: a held market needs a live feed
        if (amount > 0) {
            uint256 value = MarketMath.valueDown(uint256(amount), price, m.decimals);
            h.collateralValue += value;
            h.collInit += value.wMulDown(m.params.assetWeightInit);
            h.collMaint += value.wMulDown(m.params.assetWeightMaint);
        } else if (amount < 0) {
            uint256 value = MarketMath.valueUp(uint256(-amount), price, m.decimals);
            h.debtValue += value;
            h.debtInit += value.wMulUp(m.params.liabWeightInit);
            h.debtMaint += value.wMulUp(m.params.liabWeightMaint);
        }
    }

    /// @dev Whether any deposit of the account, outside the markets whose bits are set in `skip`, is worth at
    /// least one token unit. Deposit scale worth 0 cannot be seized, so it must not keep a debt from being
    /// settled (I13).
    function _hasCollateral(uint256 key, Cache memory cache, uint256 skip) internal view returns (bool) {
        uint256 bits = _masks[key] & LOW_MASK & ~skip;
        for (uint256 i; bits != 0; ++i) {
            if (bits & (1 << i) == 0) continue;
            bits &= ~(1 << i);
            address token = _marketList[i];
            (uint256 depositIndex,) = _indexes(cache, i, _markets[token]);
            if (MarketMath.depositAmountDown(uint256(_scaled[key][token]), depositIndex) > 0) return true;
        }
        return false;
    }

    function _newCache() internal pure returns (Cache memory cache) {
        cache.prices = new uint256[](MAX_MARKETS);
        cache.depositIndex = new uint256[](MAX_MARKETS);
        cache.borrowIndex = new uint256[](MAX_MARKETS);
    }

    /// @dev `_price` for batch views: false (memoised) instead of the router's revert, so one feed that cannot be
    /// read leaves every sub-account that does not hold its market valued (I25).
    function _tryPrice(Cache memory cache, uint256 i, address token) internal view returns (bool) {
        uint256 p = cache.prices[i];
        if (p == PRICE_UNREADABLE) return false;
        if (p != 0) return true;
        try _router.price(token) returns (uint256 answer) {
            cache.prices[i] = answer;
            return true;
        } catch {
            cache.prices[i] = PRICE_UNREADABLE;
            return false;
        }
    }

    /// @dev Whether every market `key` holds has a readable price (each read memoised in `cache`).
    function _priced(uint256 key, Cache memory cache) internal view returns (bool) {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            if (!_tryPrice(cache, i, _marketList[i])) return false;
        }
        return true;
    }

    function _price(Cache memory cache, uint256 i, address token) internal view returns (uint256 p) {
        p = cache.prices[i];
        // slither-disable-next-line incorrect-equality -- 0 = not read yet in this call (the router never returns 0)
        if (p == 0) {
            p = _router.price(token);
            cache.prices[i] = p;
        }
    }

    /// @dev Market `i`'s indexes accrued to this block, previewed once per cache. Valid while the call
    /// does not move that market's indexes after the first read (accrual in the same block does not).
    function _indexes(Cache memory cache, uint256 i, Market storage m)
        internal
        view
        returns (uint256 depositIndex, uint256 borrowIndex)
    {
        borrowIndex = cache.borrowIndex[i];
        // slither-disable-next-line incorrect-equality -- 0 = not read yet in this call (a borrow index is >= 1e18)
        if (borrowIndex == 0) {
            (depositIndex, borrowIndex,) = _accruedIndexes(m);
            cache.depositIndex[i] = depositIndex;
            cache.borrowIndex[i] = borrowIndex;
        } else {
            depositIndex = cache.depositIndex[i];
        }
    }

    function _healthFactor(Health memory h) internal pure returns (uint256) {
        if (h.debtMaint == 0) return type(uint256).max;
        return h.collMaint.wDivDown(h.debtMaint);
    }

    /* INTERNAL: BALANCES */

    /// @dev Adds `amount` to an account: repays its `token` debt first, then deposits the rest.
    /// Scale removed from debt and added to deposits both round down; `debtRepaid` counts only a repay that
    /// burned scale.
    function _credit(Market storage m, uint256 key, address token, uint256 amount)
        internal
        returns (uint256 debtRepaid, uint256 scaleAdded)
    {
        int256 bal = _scaled[key][token];
        if (bal < 0) {
            uint256 scale = uint256(-bal);
            uint256 debt = MarketMath.debtAmountUp(scale, m.borrowIndex);
            if (amount >= debt) {
                m.totalBorrowScale -= uint128(scale); // an account's scale <= the total
                bal = 0;
                debtRepaid = debt;
                amount -= debt;
            } else {
                uint256 s = MarketMath.toScaleDown(amount, m.borrowIndex);
                // An amount below one scale unit burns nothing and repays nothing: debtRepaid stays 0 and the
                // caller refuses it (deposit, repay, transfer: ZeroAmount; liquidate: NothingToLiquidate).
                if (s > 0) {
                    m.totalBorrowScale -= s.toUint128();
                    bal += s.toInt256();
                    debtRepaid = amount;
                }
                amount = 0;
            }
        }
        if (amount > 0) {
            scaleAdded = MarketMath.toScaleDown(amount, m.depositIndex);
            m.totalDepositScale = SafeCast.toUint128(m.totalDepositScale + scaleAdded);
            bal += scaleAdded.toInt256();
        }
        _writeBalance(key, token, m.index, bal);
    }

    /// @dev Takes `amount` from an account: consumes its `token` deposit first, then opens debt.
    /// Scale removed from deposits and added to debt both round up; taking exactly the whole deposit
    /// removes all of its scale.
    function _debit(Market storage m, uint256 key, address token, uint256 amount)
        internal
        returns (uint256 fromDeposit, uint256 borrowed)
    {
        int256 bal = _scaled[key][token];
        if (bal > 0) {
            uint256 scale = uint256(bal);
            uint256 held = MarketMath.depositAmountDown(scale, m.depositIndex);
            if (amount >= held) {
                m.totalDepositScale -= uint128(scale); // an account's scale <= the total
                bal = 0;
                fromDeposit = held;
                amount -= held;
            } else {
                uint256 s = MarketMath.toScaleUp(amount, m.depositIndex);
                m.totalDepositScale -= s.toUint128();
                bal -= s.toInt256();
                fromDeposit = amount;
                amount = 0;
            }
        }
        if (amount > 0) {
            uint256 s = MarketMath.toScaleUp(amount, m.borrowIndex);
            m.totalBorrowScale = SafeCast.toUint128(m.totalBorrowScale + s);
            bal -= s.toInt256();
            borrowed = amount;
        }
        _writeBalance(key, token, m.index, bal);
    }

    function _writeBalance(uint256 key, address token, uint8 index, int256 bal) internal {
        _scaled[key][token] = bal;
        uint256 bit = 1 << index;
        uint256 masks = _masks[key] & ~(bit | (bit << DEBT_SHIFT));
        if (bal > 0) masks |= bit;
        else if (bal < 0) masks |= bit << DEBT_SHIFT;
        _masks[key] = masks;
    }

    /// @dev Pulls `amount` from the caller and returns what actually arrived.
    function _pull(address token, uint256 amount) internal returns (uint256) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        return IERC20(token).balanceOf(address(this)) - before;
    }

    /* INTERNAL: HELPERS */

    function _key(address owner, uint8 subId) internal pure returns (uint256) {
        return (uint256(uint160(owner)) << 8) | subId;
    }

    function _listed(address token) internal view returns (Market storage m) {
        m = _markets[token];
        if (!m.listed) revert MarketNotListed(token);
    }

    /// @dev Liquidations are neither paused nor in the grace period after an unpause. One slot load.
    function _requireLiquidationsOpen() internal view {
        if (_liquidatePaused) revert LiquidationPaused();
        uint256 until = _liquidationGraceUntil;
        if (block.timestamp < until) revert LiquidationGracePeriod(until);
    }

    function _requireGovernor() internal view {
        if (msg.sender != _governor) revert NotGovernor(msg.sender);
    }

    function _depositOf(Market storage m, uint256 key, address token) internal view returns (uint256) {
        int256 bal = _scaled[key][token];
        return bal > 0 ? MarketMath.depositAmountDown(uint256(bal), m.depositIndex) : 0;
    }

    function _totalDeposits(Market storage m) internal view returns (uint256) {
        return MarketMath.depositAmountDown(m.totalDepositScale, m.depositIndex);
    }

    function _totalBorrows(Market storage m) internal view returns (uint256) {
        return MarketMath.debtAmountUp(m.totalBorrowScale, m.borrowIndex);
    }

    function _underlying(int256 scaled, uint256 depositIndex, uint256 borrowIndex) internal pure returns (int256) {
        if (scaled >= 0) return MarketMath.depositAmountDown(uint256(scaled), depositIndex).toInt256();
        return -MarketMath.debtAmountUp(uint256(-scaled), borrowIndex).toInt256();
    }

    function _signedDiff(uint256 a, uint256 b) internal pure returns (int256) {
        return a.toInt256() - b.toInt256();
    }
}
