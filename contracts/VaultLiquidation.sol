// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IVaultLiquidation} from "../interfaces/IVaultLiquidation.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IVaultModule} from "../interfaces/IVaultModule.sol";
import {VaultCore} from "./VaultCore.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";
import {LiquidationMath} from "./libraries/LiquidationMath.sol";
import {CloseFactorPolicy} from "./libraries/CloseFactorPolicy.sol";
import {FixedIncentivePolicy} from "./libraries/FixedIncentivePolicy.sol";
import {DutchPolicy} from "./libraries/DutchPolicy.sol";

/// @title VaultLiquidation
/// @notice The vault's liquidation module: liquidation under every policy, absorption, the sale of absorbed
/// collateral and bad-debt settlement. See IVaultLiquidation.
/// @dev Runs only by delegatecall from the `Vault` it was given to, in the vault's storage (it derives from
/// `VaultCore` alone, so the layout is the vault's slot for slot) and under the vault's reentrancy lock (its
/// entry points are `nonReentrant` here; the vault's stubs take no lock of their own). Called directly it
/// sees its own empty storage: no market is listed and there is no governor, so every entry point reverts.
/// Order in every entry point: checks, accrue, quote, pull, effects, event. `liquidate` and `buyCollateral`
/// pull the payment *before* their effects because they credit only what arrived (fee-on-transfer tokens);
/// the reentrancy lock covers the window. Nothing leaves the vault here: seized and bought collateral is
/// credited as a deposit.
contract VaultLiquidation is VaultCore, IVaultLiquidation, IVaultModule {
    using SafeCast for uint256;
    using WadMath for uint256;

    /// @dev Working set of one liquidation (keeps the stack shallow without via-IR).
    struct Liquidation {
        address owner;
        uint8 subId;
        address debtToken;
        address collToken;
        uint256 key;
        uint256 liquidatorKey;
        uint256 debt;
        uint256 held; // the collToken deposit before the liquidation
        uint256 repaid;
        uint256 seized;
        uint256 toLiquidator;
        uint256 protocolCut;
        uint256 healthFactorBefore;
        uint256 healthFactorAfter;
        bool solventAtIncentive; // collateral value >= debt value x (1 + incentive) before the call (I9)
        LiquidationMath.Pair pair; // pair.bonus is the policy's incentive
    }

    constructor(IOracleRouter router_) VaultCore(router_) {}

    /// @inheritdoc IVaultModule
    function moduleIdentity() external view returns (bytes32 id, IOracleRouter router) {
        return (LIQUIDATION_MODULE_ID, _router);
    }

    /* LIQUIDATION */

    /// @inheritdoc IVaultLiquidation
    function liquidate(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount,
        uint8 liquidatorSubId
    ) external nonReentrant returns (uint256, uint256) {
        LiquidationPolicy policy = _policy;
        _requireLiquidationsOpen();
        if (policy == LiquidationPolicy.Absorb) revert WrongLiquidationPolicy(policy);
        if (repayAmount == 0) revert ZeroAmount();
        // slither-disable-next-line uninitialized-local -- a scratch struct filled field by field below
        Liquidation memory v;
        v.owner = owner;
        v.subId = subId;
        v.debtToken = debtToken;
        v.collToken = collToken;
        v.key = _key(owner, subId);
        v.liquidatorKey = _key(msg.sender, liquidatorSubId);
        if (v.key == v.liquidatorKey) revert SelfLiquidation();
        Market storage md = _listed(debtToken);
        Market storage mc = _listed(collToken);
        _accrue(md, debtToken);
        _accrue(mc, collToken);

        // One price per asset for the whole call: health before, quote and health after.
        Cache memory cache = _newCache();
        _quoteLiquidation(v, md, mc, cache, repayAmount, policy);
        // slither-disable-next-line reentrancy-eth -- nonReentrant on every entry point that writes, and the view that reads this state here (previewLiquidation) refuses to run under the lock; test_incidents_reentrancy.py
        _executeLiquidation(v, md, mc, cache);

        // The cache stays valid: md and mc were accrued before it was filled and the other markets are not
        // written until _settleBadDebt, after which the sub-account holds nothing left to value.
        if (_masks[v.key] >> DEBT_SHIFT != 0 && !_hasCollateral(v.key, cache, 0)) _settleBadDebt(v.key, owner, subId);
        v.healthFactorAfter = _healthFactor(_health(v.key, cache));
        // I9: health never falls while the account can pay the incentive (see IVaultLiquidation).
        if (v.healthFactorAfter < v.healthFactorBefore && v.solventAtIncentive) {
            revert HealthFactorNotImproved(v.healthFactorBefore, v.healthFactorAfter);
        }
        _emitLiquidated(v);
        return (v.repaid, v.seized);
    }

    /// @inheritdoc IVaultLiquidation
    function previewLiquidation(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount
    ) external view returns (LiquidationPreview memory p) {
        // Mid-transaction (a token's hook during a liquidation) the books are half-written: no quote of them.
        if (_reentrancyGuardEntered()) revert ReentrancyGuardReentrantCall();
        // The checks of `liquidate`, in its order, but for the caller's own (SelfLiquidation) and the pull's.
        LiquidationPolicy policy = _policy;
        _requireLiquidationsOpen();
        if (policy == LiquidationPolicy.Absorb) revert WrongLiquidationPolicy(policy);
        if (repayAmount == 0) revert ZeroAmount();
        // slither-disable-next-line uninitialized-local -- a scratch struct filled field by field below
        Liquidation memory v;
        v.owner = owner;
        v.subId = subId;
        v.debtToken = debtToken;
        v.collToken = collToken;
        v.key = _key(owner, subId);
        Market storage md = _listed(debtToken);
        Market storage mc = _listed(collToken);
        Cache memory cache = _newCache();
        _quoteLiquidation(v, md, mc, cache, repayAmount, policy);

        // `_executeLiquidation` with everything arriving, on balances in memory: the same scale arithmetic as
        // `_credit` (debt burned, rounded down) and `_debit` (deposit taken, rounded up).
        int256 debtAfter = 0; // the whole debt repaid
        if (v.repaid < v.debt) {
            uint256 burned = MarketMath.toScaleDown(v.repaid, cache.borrowIndex[md.index]);
            // slither-disable-next-line incorrect-equality -- as in _executeLiquidation: a repay below one scale unit is refused
            if (burned == 0) revert NothingToLiquidate(v.repaid, v.seized);
            debtAfter = _scaled[v.key][debtToken] + burned.toInt256();
        }
        int256 collAfter = 0; // the whole deposit seized
        if (v.seized < v.held) {
            collAfter = _scaled[v.key][collToken] - MarketMath.toScaleUp(v.seized, cache.depositIndex[mc.index]).toInt256();
        }
        (v.toLiquidator, v.protocolCut) = LiquidationMath.splitSeized(v.seized, v.pair.bonus, mc.params.protocolShare);

        // Then `liquidate`'s bad-debt settlement (it leaves the account empty) and its health rule.
        uint256 debtBits = (_masks[v.key] >> DEBT_SHIFT) & ~(debtAfter == 0 ? uint256(1) << md.index : 0);
        bool collLeft = MarketMath.depositAmountDown(uint256(collAfter), cache.depositIndex[mc.index]) > 0
            || _hasCollateral(v.key, cache, uint256(1) << mc.index);
        p.settlesBadDebt = debtBits != 0 && !collLeft;
        v.healthFactorAfter = p.settlesBadDebt
            ? type(uint256).max
            : _healthFactor(_healthWith(v.key, cache, md.index, debtAfter, mc.index, collAfter));
        if (v.healthFactorAfter < v.healthFactorBefore && v.solventAtIncentive) {
            revert HealthFactorNotImproved(v.healthFactorBefore, v.healthFactorAfter);
        }
        p.policy = policy;
        p.repaid = v.repaid;
        p.seized = v.seized;
        p.toLiquidator = v.toLiquidator;
        p.protocolCut = v.protocolCut;
        p.incentive = v.pair.bonus;
        p.healthFactorBefore = v.healthFactorBefore;
        p.healthFactorAfter = v.healthFactorAfter;
    }

    /// @inheritdoc IVaultLiquidation
    function absorb(address owner, uint8 subId)
        external
        nonReentrant
        returns (uint256 collateralValue, uint256 debtValue)
    {
        LiquidationPolicy policy = _policy;
        _requireLiquidationsOpen();
        if (policy != LiquidationPolicy.Absorb) revert WrongLiquidationPolicy(policy);
        uint256 key = _key(owner, subId);
        Cache memory cache = _newCache();
        Health memory h = _health(key, cache);
        // The protocol's own sub-account never owes (nothing can borrow for it), so it is never unhealthy.
        if (h.collMaint >= h.debtMaint) revert AccountHealthy(_signedDiff(h.collMaint, h.debtMaint));

        _absorbDeposits(key, owner, subId, cache);
        _settleBadDebt(key, owner, subId);
        emit Absorbed(msg.sender, owner, subId, h.collateralValue, h.debtValue, _healthFactor(h));
        return (h.collateralValue, h.debtValue);
    }

    /// @inheritdoc IVaultLiquidation
    function buyCollateral(
        address collToken,
        address payToken,
        uint256 payAmount,
        uint256 minCollateral,
        uint8 buyerSubId
    ) external nonReentrant returns (uint256 paid, uint256 bought) {
        _requireLiquidationsOpen();
        if (payAmount == 0) revert ZeroAmount();
        if (collToken == payToken) revert PayTokenIsCollateral(payToken);
        Market storage mc = _listed(collToken);
        Market storage mp = _listed(payToken);
        _accrue(mc, collToken);
        _accrue(mp, payToken);
        uint256 protocolKey = _key(address(this), PROTOCOL_SUB_ID);
        uint256 held = _depositOf(mc, protocolKey, collToken);
        if (held == 0) revert NoCollateral(collToken);
        LiquidationMath.Pair memory pair = LiquidationMath.Pair({
            priceDebt: _router.price(payToken),
            decimalsDebt: mp.decimals,
            priceColl: _router.price(collToken),
            decimalsColl: mc.decimals,
            bonus: uint256(_liqParams.storeFrontFactor).wMulDown(mc.params.liquidationBonus)
        });
        paid = payAmount;
        bought = LiquidationMath.seizeForRepayDown(paid, pair);
        if (bought > held) {
            bought = held;
            uint256 paidForAll = LiquidationMath.repayForSeizeUp(held, pair);
            if (paidForAll < paid) paid = paidForAll;
        }

        // slither-disable-next-line reentrancy-eth,reentrancy-no-eth -- nonReentrant on every entry point; pull before credit so only what arrived buys (fee-on-transfer)
        uint256 received = _pull(payToken, paid);
        if (received < paid) {
            paid = received;
            uint256 fewer = LiquidationMath.seizeForRepayDown(received, pair);
            if (fewer < bought) bought = fewer;
        }
        // slither-disable-next-line incorrect-equality -- refuses a purchase that moves nothing
        if (bought == 0) revert NothingToLiquidate(paid, bought);
        if (bought < minCollateral) revert BoughtBelowMinimum(bought, minCollateral);

        _debit(mc, protocolKey, collToken, bought);
        _credit(mc, _key(msg.sender, buyerSubId), collToken, bought);
        mp.reserves = SafeCast.toUint128(mp.reserves + paid);
        emit CollateralBought(msg.sender, buyerSubId, collToken, payToken, paid, bought, pair.bonus);
    }

    /// @inheritdoc IVaultLiquidation
    function settleBadDebt(address owner, uint8 subId) external nonReentrant {
        uint256 key = _key(owner, subId);
        if (_masks[key] >> DEBT_SHIFT == 0) revert AccountHasNoDebt();
        if (_hasCollateral(key, _newCache(), 0)) revert AccountHasCollateral();
        _settleBadDebt(key, owner, subId);
    }

    /* INTERNAL: LIQUIDATION */

    /// @dev Pulls the quoted repay, pays the liquidator for what arrived and moves the balances.
    function _executeLiquidation(Liquidation memory v, Market storage md, Market storage mc, Cache memory cache)
        internal
    {
        uint256 quoted = v.seized;
        // slither-disable-next-line reentrancy-eth -- nonReentrant on every entry point; pull before credit so only what arrived is credited (fee-on-transfer); test_incidents_reentrancy.py
        uint256 received = _pull(v.debtToken, v.repaid);
        if (received < v.repaid) {
            // Fee-on-transfer debt token: the liquidator is paid only for what arrived.
            v.repaid = received;
            uint256 seized = LiquidationMath.seizeForRepayDown(received, v.pair);
            if (seized < v.seized) v.seized = seized;
            // slither-disable-next-line incorrect-equality -- refuses a liquidation that moves nothing; a donation can only make received larger
            if (received == 0 || v.seized == 0) revert NothingToLiquidate(received, v.seized);
        }

        (uint256 burned,) = _credit(md, v.key, v.debtToken, v.repaid);
        // slither-disable-next-line incorrect-equality -- a repay below one scale unit burns no debt: refused, not reported as repaid
        if (burned == 0) revert NothingToLiquidate(v.repaid, v.seized);
        (v.toLiquidator, v.protocolCut) =
            LiquidationMath.splitSeized(v.seized, v.pair.bonus, mc.params.protocolShare);
        // The collateral a fee did not pay for stays with the owner, unless the quote took the whole deposit and
        // the account is left owing with nothing else to seize: then it would only shrink by the fee at every
        // call and keep the debt from being settled, so it goes to reserves and the bad debt settles after.
        // slither-disable-next-line incorrect-equality -- our own quote against the deposit it was capped at (>= is ==), nothing a caller can steer
        bool tookAll = quoted == v.held;
        if (v.seized < quoted && tookAll && _masks[v.key] >> DEBT_SHIFT != 0 && !_hasCollateral(v.key, cache, 1 << mc.index)) {
            v.protocolCut += v.held - v.seized;
            v.seized = v.held;
        }
        _debit(mc, v.key, v.collToken, v.seized);
        mc.reserves = SafeCast.toUint128(mc.reserves + v.protocolCut);
        _credit(mc, v.liquidatorKey, v.collToken, v.toLiquidator);
    }

    /* INTERNAL: THE QUOTE */

    /// @dev Checks the account, prices the pair under `policy` and fixes `v.repaid` and `v.seized` (before any
    /// transfer): the policy's cap, then the deposit's, then the dust rule.
    function _quoteLiquidation(
        Liquidation memory v,
        Market storage md,
        Market storage mc,
        Cache memory cache,
        uint256 repayAmount,
        LiquidationPolicy policy
    ) internal view {
        Health memory h = _health(v.key, cache);
        if (h.collMaint >= h.debtMaint) revert AccountHealthy(_signedDiff(h.collMaint, h.debtMaint));
        v.healthFactorBefore = _healthFactor(h);
        // Indexes from the cache, which `_health` filled for both markets (the account holds them, or the call
        // reverts first): in `liquidate` they equal the stored ones (both markets were accrued before), and
        // `previewLiquidation`, which accrues nothing, sees the same values.
        int256 debtBal = _scaled[v.key][v.debtToken];
        if (debtBal >= 0) revert NoDebt(v.debtToken);
        int256 collBal = _scaled[v.key][v.collToken];
        uint256 held = collBal > 0 ? MarketMath.depositAmountDown(uint256(collBal), cache.depositIndex[mc.index]) : 0;
        if (held == 0) revert NoCollateral(v.collToken);
        v.held = held;
        v.debt = MarketMath.debtAmountUp(uint256(-debtBal), cache.borrowIndex[md.index]);

        uint256 incentive = _incentive(policy, mc, v.healthFactorBefore);
        v.solventAtIncentive = h.collateralValue >= h.debtValue.wMulUp(WAD + incentive);
        v.pair = LiquidationMath.Pair({
            priceDebt: cache.prices[md.index],
            decimalsDebt: md.decimals,
            priceColl: cache.prices[mc.index],
            decimalsColl: mc.decimals,
            bonus: incentive
        });
        uint256 cap = _maxRepay(policy, v, h, md, mc);
        v.repaid = repayAmount < cap ? repayAmount : cap;
        _capBySeizure(v);
        _applyDustRule(v, repayAmount);
        if (v.repaid == 0 || v.seized == 0) revert NothingToLiquidate(v.repaid, v.seized);
    }

    /// @dev The incentive `policy` pays for seizing from `mc` (WAD).
    function _incentive(LiquidationPolicy policy, Market storage mc, uint256 healthFactor)
        internal
        view
        returns (uint256)
    {
        if (policy == LiquidationPolicy.CloseFactor) return mc.params.liquidationBonus;
        LiquidationParams storage lp = _liqParams;
        if (policy == LiquidationPolicy.FixedIncentive) {
            return FixedIncentivePolicy.incentiveDown(mc.params.assetWeightMaint, lp.incentiveCursor, lp.maxIncentive);
        }
        return DutchPolicy.incentiveDown(healthFactor, lp.maxDiscount);
    }

    /// @dev The most of `v.debt` one call may repay under `policy`, before the deposit's cap and the dust rule.
    function _maxRepay(
        LiquidationPolicy policy,
        Liquidation memory v,
        Health memory h,
        Market storage md,
        Market storage mc
    ) internal view returns (uint256) {
        if (policy == LiquidationPolicy.FixedIncentive) return v.debt;
        LiquidationParams storage lp = _liqParams;
        if (policy == LiquidationPolicy.CloseFactor) {
            return CloseFactorPolicy.maxRepayDown(v.debt, v.healthFactorBefore, lp.closeFactor, lp.fullCloseHealthFactor);
        }
        uint256 value = DutchPolicy.repayValueToRestoreUp(
            h.collMaint, h.debtMaint, lp.targetHealthFactor, v.pair.bonus, mc.params.assetWeightMaint,
            md.params.liabWeightMaint
        );
        if (value == type(uint256).max) return v.debt;
        uint256 units = value.mulDivUp(10 ** v.pair.decimalsDebt, v.pair.priceDebt);
        return units < v.debt ? units : v.debt;
    }

    /// @dev The seizure `v.repaid` buys, capped by the deposit (the repay then shrinks to match, rounded up).
    function _capBySeizure(Liquidation memory v) internal pure {
        v.seized = LiquidationMath.seizeForRepayDown(v.repaid, v.pair);
        if (v.seized > v.held) {
            v.seized = v.held;
            uint256 repaidForAll = LiquidationMath.repayForSeizeUp(v.held, v.pair);
            if (repaidForAll < v.repaid) v.repaid = repaidForAll;
        }
    }

    /// @dev Aave 3.3's dust rule: unless the quote closes the debt or the deposit, both must stay worth at least
    /// their minimums. Otherwise the quote grows to the smallest one that closes a side -- if `requested`
    /// allows it -- or the call reverts `LeavesDust`.
    function _applyDustRule(Liquidation memory v, uint256 requested) internal view {
        if (v.repaid == v.debt || v.seized == v.held) return;
        uint256 debtLeft = MarketMath.valueUp(v.debt - v.repaid, v.pair.priceDebt, v.pair.decimalsDebt);
        uint256 collLeft = MarketMath.valueDown(v.held - v.seized, v.pair.priceColl, v.pair.decimalsColl);
        uint256 minDebt = _minDebtLeftValue;
        uint256 minColl = _minCollateralLeftValue;
        if (debtLeft >= minDebt && collLeft >= minColl) return;
        uint256 repaidForAll = LiquidationMath.repayForSeizeUp(v.held, v.pair);
        uint256 closing = repaidForAll <= v.debt ? repaidForAll : v.debt;
        if (closing > requested) revert LeavesDust(debtLeft, collLeft, minDebt, minColl);
        v.repaid = closing;
        if (closing == repaidForAll) {
            v.seized = v.held;
        } else {
            uint256 seized = LiquidationMath.seizeForRepayDown(closing, v.pair);
            v.seized = seized < v.held ? seized : v.held;
        }
    }

    function _emitLiquidated(Liquidation memory v) internal {
        emit Liquidated(
            msg.sender,
            v.owner,
            v.subId,
            v.debtToken,
            v.collToken,
            v.repaid,
            v.seized,
            v.toLiquidator,
            v.protocolCut,
            v.healthFactorBefore,
            v.healthFactorAfter,
            v.pair.bonus,
            uint8(v.liquidatorKey) // a key is (address << 8) | subId
        );
    }

    /* INTERNAL: ABSORPTION */

    /// @dev Moves every deposit of `key` to the protocol's sub-account, scale for scale: the pool's totals and
    /// every index stay as they are, and the protocol's deposit keeps earning (and bearing losses) like any.
    function _absorbDeposits(uint256 key, address owner, uint8 subId, Cache memory cache) internal {
        uint256 protocolKey = _key(address(this), PROTOCOL_SUB_ID);
        uint256 bits = _masks[key] & LOW_MASK;
        for (uint256 i; bits != 0; ++i) {
            if (bits & (1 << i) == 0) continue;
            bits &= ~(1 << i);
            address token = _marketList[i];
            Market storage m = _markets[token];
            int256 scale = _scaled[key][token];
            _writeBalance(key, token, m.index, 0);
            _writeBalance(protocolKey, token, m.index, _scaled[protocolKey][token] + scale);
            (uint256 depositIndex,) = _indexes(cache, i, m);
            emit CollateralAbsorbed(owner, subId, token, MarketMath.depositAmountDown(uint256(scale), depositIndex));
        }
    }

    /* INTERNAL: BAD DEBT */

    /// @dev Writes off every debt of an account without collateral (I13, I14). Deposit scale worth nothing
    /// (rounding dust, or left by an earlier socialised loss) is cleared first and stays with the pool.
    function _settleBadDebt(uint256 key, address owner, uint8 subId) internal {
        uint256 dustBits = _masks[key] & LOW_MASK;
        for (uint256 i; dustBits != 0; ++i) {
            if (dustBits & (1 << i) == 0) continue;
            dustBits &= ~(1 << i);
            address token = _marketList[i];
            Market storage m = _markets[token];
            _accrue(m, token);
            m.totalDepositScale -= uint128(uint256(_scaled[key][token])); // an account's scale <= the total
            _writeBalance(key, token, m.index, 0);
        }
        uint256 debtBits = _masks[key] >> DEBT_SHIFT;
        for (uint256 i; debtBits != 0; ++i) {
            if (debtBits & (1 << i) == 0) continue;
            debtBits &= ~(1 << i);
            address token = _marketList[i];
            Market storage m = _markets[token];
            _accrue(m, token);
            uint256 scale = uint256(-_scaled[key][token]);
            uint256 debt = MarketMath.debtAmountUp(scale, m.borrowIndex);
            uint256 covered = debt < m.reserves ? debt : m.reserves;
            uint256 socialised = debt - covered;
            m.reserves -= uint128(covered); // covered <= reserves
            m.totalBorrowScale -= uint128(scale); // an account's scale <= the total
            _writeBalance(key, token, m.index, 0);
            if (socialised > 0) {
                // What the depositors cannot bear (none left, or the index at its floor) is the deficit (I24).
                uint256 loss = socialised;
                uint256 index;
                (index, socialised) =
                    MarketMath.socialiseFloored(m.depositIndex, m.totalDepositScale, loss, MIN_DEPOSIT_INDEX);
                m.depositIndex = uint128(index); // <= the stored index
                if (socialised < loss) {
                    uint256 owed = m.deficit + (loss - socialised);
                    m.deficit = owed.toUint128();
                    m.hasDeficit = true;
                    emit DeficitRecorded(token, loss - socialised, owed);
                }
            }
            emit BadDebtSettled(owner, subId, token, debt, covered, socialised, m.depositIndex);
        }
    }
}
