// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IVault} from "../interfaces/IVault.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IInterestRateModel} from "../interfaces/IInterestRateModel.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";

/// @title VaultBase
/// @notice The read side of the Vault: storage layout, interest and health computed as of this block
/// without writing, and the external views. Vault.sol adds the state machine.
/// @dev Every read of an index goes through `_accruedIndexes`, so views and health checks see accrued
/// values while an action only writes (accrues) the markets it touches.
abstract contract VaultBase is IVault {
    using SafeCast for uint256;
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_MARKETS = 16;
    uint8 internal constant MAX_DECIMALS = 36;
    /// @dev Share of one asset's debt a liquidation may repay while the account is only mildly unhealthy.
    uint256 internal constant CLOSE_FACTOR = 0.5e18;
    /// @dev Below this health factor the close factor is 100 %.
    uint256 internal constant FULL_CLOSE_HEALTH_FACTOR = 0.95e18;
    /// @dev Debt bits live in the high half of an account's mask word, deposit bits in the low half.
    uint256 internal constant DEBT_SHIFT = 128;
    uint256 internal constant LOW_MASK = (1 << DEBT_SHIFT) - 1;

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

    /// @inheritdoc IVault
    address public governor;
    /// @inheritdoc IVault
    address public guardian;
    /// @inheritdoc IVault
    IOracleRouter public immutable router;
    /// @inheritdoc IVault
    uint256 public dustValue = 1e18;
    /// @inheritdoc IVault
    bool public borrowPaused;
    /// @inheritdoc IVault
    bool public withdrawPaused;
    /// @inheritdoc IVault
    bool public liquidatePaused;
    /// @inheritdoc IVault
    mapping(address owner => mapping(address operator => bool)) public isOperator;
    /// @inheritdoc IVault
    mapping(address owner => uint256) public nonces;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(uint256 chainId,address verifyingContract)");
    bytes32 internal constant AUTHORIZATION_TYPEHASH =
        keccak256("Authorization(address owner,address operator,bool approved,uint256 nonce,uint256 deadline)");

    mapping(address token => Market) internal _markets;
    // slither-disable-next-line uninitialized-state -- written by Vault.listMarket; VaultBase is abstract, so slither sees no writer here
    address[] internal _marketList;
    /// @dev Signed scaled balance per account key and token.
    // slither-disable-next-line uninitialized-state -- written by Vault._credit/_debit (the derived contract); empty mapping = no balance is the intended start
    mapping(uint256 key => mapping(address token => int256)) internal _scaled;
    /// @dev Per account key: bit i (low half) = deposit in market i, bit 128 + i = debt in market i.
    // slither-disable-next-line uninitialized-state -- written by Vault._credit/_debit (the derived contract); zero mask = no position is the intended start
    mapping(uint256 key => uint256) internal _masks;

    constructor(address governor_, address guardian_, IOracleRouter router_) {
        if (governor_ == address(0) || address(router_) == address(0)) revert ZeroAddress();
        governor = governor_;
        guardian = guardian_;
        router = router_;
        emit GovernorSet(address(0), governor_);
        emit GuardianSet(address(0), guardian_);
    }

    /* VIEWS */

    /// @inheritdoc IVault
    function markets() external view returns (address[] memory) {
        return _marketList;
    }

    /// @inheritdoc IVault
    function marketParams(address token) external view returns (MarketParams memory) {
        return _listed(token).params;
    }

    /// @inheritdoc IVault
    function marketState(address token) external view returns (MarketState memory s) {
        Market storage m = _listed(token);
        (uint256 depositIndex, uint256 borrowIndex, uint256 reserves) = _accruedIndexes(m);
        s.token = token;
        s.decimals = m.decimals;
        s.depositIndex = depositIndex;
        s.borrowIndex = borrowIndex;
        s.totalDepositScale = m.totalDepositScale;
        s.totalBorrowScale = m.totalBorrowScale;
        s.totalDeposits = MarketMath.depositAmountDown(s.totalDepositScale, depositIndex);
        s.totalBorrows = MarketMath.debtAmountUp(s.totalBorrowScale, borrowIndex);
        s.reserves = reserves;
        s.utilization = MarketMath.utilization(s.totalBorrows, s.totalDeposits);
        s.borrowRatePerSecond = IInterestRateModel(m.params.irm).borrowRatePerSecond(s.utilization);
        s.supplyRatePerSecond =
            s.borrowRatePerSecond.wMulDown(s.utilization).wMulDown(WAD - m.params.reserveFactor);
        s.lastAccrual = m.lastAccrual;
    }

    /// @inheritdoc IVault
    function balanceOf(address owner, uint8 subId, address token) external view returns (int256) {
        Market storage m = _listed(token);
        (uint256 depositIndex, uint256 borrowIndex,) = _accruedIndexes(m);
        return _underlying(_scaled[_key(owner, subId)][token], depositIndex, borrowIndex);
    }

    /// @inheritdoc IVault
    function scaledBalanceOf(address owner, uint8 subId, address token) external view returns (int256) {
        return _scaled[_key(owner, subId)][token];
    }

    /// @inheritdoc IVault
    function accountState(address owner, uint8 subId) external view returns (AccountState memory) {
        return _accountState(_key(owner, subId), _newCache());
    }

    /// @inheritdoc IVault
    function accountStates(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (AccountState[] memory states)
    {
        if (owners.length != subIds.length) revert LengthMismatch(owners.length, subIds.length);
        Cache memory cache = _newCache();
        states = new AccountState[](owners.length);
        for (uint256 i; i < owners.length; ++i) {
            states[i] = _accountState(_key(owners[i], subIds[i]), cache);
        }
    }

    /// @inheritdoc IVault
    function liquidatable(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (bool[] memory result)
    {
        if (owners.length != subIds.length) revert LengthMismatch(owners.length, subIds.length);
        Cache memory cache = _newCache();
        result = new bool[](owners.length);
        for (uint256 i; i < owners.length; ++i) {
            uint256 key = _key(owners[i], subIds[i]);
            if (_masks[key] >> DEBT_SHIFT == 0) continue; // no debt: never liquidatable, needs no price
            Health memory h = _health(key, cache);
            result[i] = h.collMaint < h.debtMaint;
        }
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

    function _accountState(uint256 key, Cache memory cache) internal view returns (AccountState memory s) {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        // slither-disable-next-line uninitialized-local -- a counter that starts at 0 by design
        uint256 n;
        for (uint256 bits = held; bits != 0; bits &= bits - 1) ++n;
        s.tokens = new address[](n);
        s.balances = new int256[](n);
        // slither-disable-next-line uninitialized-local -- sums that start at 0 by design
        Health memory h;
        // slither-disable-next-line uninitialized-local -- an output index that starts at 0 by design
        uint256 j;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            address token = _marketList[i];
            s.tokens[j] = token;
            s.balances[j] = _accumulate(h, _markets[token], _scaled[key][token], cache, i, token);
            ++j;
        }
        s.healthInit = _signedDiff(h.collInit, h.debtInit);
        s.healthMaint = _signedDiff(h.collMaint, h.debtMaint);
        s.healthFactor = _healthFactor(h);
        s.collateralValue = h.collateralValue;
        s.debtValue = h.debtValue;
    }

    /// @dev Whether any deposit of the account is worth at least one token unit. Deposit scale worth 0
    /// cannot be seized, so it must not keep a debt from being settled (I13).
    function _hasCollateral(uint256 key, Cache memory cache) internal view returns (bool) {
        uint256 bits = _masks[key] & LOW_MASK;
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

    function _price(Cache memory cache, uint256 i, address token) internal view returns (uint256 p) {
        p = cache.prices[i];
        if (p == 0) {
            p = router.price(token);
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

    /* INTERNAL: HELPERS */

    function _key(address owner, uint8 subId) internal pure returns (uint256) {
        return (uint256(uint160(owner)) << 8) | subId;
    }

    function _listed(address token) internal view returns (Market storage m) {
        m = _markets[token];
        if (!m.listed) revert MarketNotListed(token);
    }

    function _requireBelowBorrowCap(Market storage m) internal view {
        uint256 cap = m.params.borrowCap;
        uint256 total = _totalBorrows(m);
        if (cap != 0 && total > cap) revert BorrowCapExceeded(total, cap);
    }

    /// @dev Liquidity leaves the pool only while deposits still cover borrows (I3).
    function _requireLiquidity(Market storage m) internal view {
        uint256 deposits = _totalDeposits(m);
        uint256 borrows = _totalBorrows(m);
        if (borrows > deposits) revert InsufficientLiquidity(deposits, borrows);
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

    function _validateParams(MarketParams calldata p) internal pure {
        if (p.assetWeightInit == 0 || p.assetWeightInit > p.assetWeightMaint || p.assetWeightMaint >= WAD) {
            revert InvalidAssetWeights(p.assetWeightInit, p.assetWeightMaint);
        }
        if (p.liabWeightMaint < WAD || p.liabWeightMaint > p.liabWeightInit) {
            revert InvalidLiabilityWeights(p.liabWeightInit, p.liabWeightMaint);
        }
        if (p.liquidationBonus == 0) revert ZeroLiquidationBonus();
        if (uint256(p.assetWeightMaint) * (WAD + p.liquidationBonus) > WAD * WAD) {
            revert BonusTooLargeForWeight(p.assetWeightMaint, p.liquidationBonus);
        }
        if (p.protocolShare > WAD) revert ProtocolShareAboveOne(p.protocolShare);
        if (p.reserveFactor >= WAD) revert ReserveFactorTooHigh(p.reserveFactor);
        if (p.irm == address(0)) revert ZeroAddress();
    }
}
