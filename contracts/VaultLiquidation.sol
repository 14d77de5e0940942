// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IVaultLiquidation} from "../interfaces/IVaultLiquidation.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {VaultCore} from "./VaultCore.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";
import {LiquidationMath} from "./libraries/LiquidationMath.sol";

/// @title VaultLiquidation
/// @notice The vault's liquidation module: liquidation and bad-debt settlement. See IVaultLiquidation.
/// @dev Runs only by delegatecall from the `Vault` that deployed it, in the vault's storage (it derives from
/// `VaultCore` alone, so the layout is the vault's slot for slot) and under the vault's reentrancy lock (its
/// entry points are `nonReentrant` here; the vault's stubs take no lock of their own). Called directly it
/// sees its own empty storage: no market is listed and there is no governor, so every entry point reverts.
/// The module exists to keep the vault under EIP-170's 24,576 bytes. Order in every entry point: checks,
/// accrue, effects, event, token transfer out; liquidate pulls the repay *before* its effects because it
/// credits only what arrived (fee-on-transfer tokens); the reentrancy lock covers the window.
contract VaultLiquidation is VaultCore, IVaultLiquidation {
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
        LiquidationMath.Pair pair;
    }

    constructor(IOracleRouter router_) VaultCore(router_) {}

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
        if (_liquidatePaused) revert LiquidationPaused();
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

        // One price per asset for the whole call: health before, seizure and health after.
        Cache memory cache = _newCache();
        _quoteLiquidation(v, md, mc, cache, repayAmount);

        // slither-disable-next-line reentrancy-eth -- nonReentrant on every entry point; pull before credit so only what arrived is credited (fee-on-transfer); test_incidents_reentrancy.py
        uint256 received = _pull(debtToken, v.repaid);
        uint256 feeShare = 0; // collateral a fee-on-transfer debt token left unpaid for, when the quote took it all
        if (received < v.repaid) {
            // Fee-on-transfer debt token: the liquidator is paid only for what arrived.
            v.repaid = received;
            uint256 seized = LiquidationMath.seizeForRepayDown(received, v.pair);
            if (seized < v.seized) {
                // A quote that took the whole deposit still takes it: the part the fee did not pay for goes to
                // reserves. Left with the account, it would shrink by the fee at every liquidation and never
                // reach zero, and its debt could never be settled as bad debt.
                if (v.seized >= v.held) feeShare = v.held - seized; // the quote caps seized at held: >= is ==
                v.seized = seized;
            }
            // slither-disable-next-line incorrect-equality -- refuses a liquidation that moves nothing; a donation can only make received larger
            if (received == 0 || v.seized == 0) revert NothingToLiquidate(received, v.seized);
        }

        _credit(md, v.key, debtToken, v.repaid);
        (v.toLiquidator, v.protocolCut) =
            LiquidationMath.splitSeized(v.seized, v.pair.bonus, mc.params.protocolShare);
        v.protocolCut += feeShare;
        v.seized += feeShare;
        _debit(mc, v.key, collToken, v.seized);
        mc.reserves = SafeCast.toUint128(mc.reserves + v.protocolCut);
        _credit(mc, v.liquidatorKey, collToken, v.toLiquidator);

        // The cache stays valid: md and mc were accrued before it was filled and the other markets are not
        // written until _settleBadDebt, after which the sub-account holds nothing left to value.
        if (_masks[v.key] >> DEBT_SHIFT != 0 && !_hasCollateral(v.key, cache)) _settleBadDebt(v.key, owner, subId);
        v.healthFactorAfter = _healthFactor(_health(v.key, cache));
        _emitLiquidated(v);
        return (v.repaid, v.seized);
    }

    /// @inheritdoc IVaultLiquidation
    function settleBadDebt(address owner, uint8 subId) external nonReentrant {
        uint256 key = _key(owner, subId);
        if (_masks[key] >> DEBT_SHIFT == 0) revert AccountHasNoDebt();
        if (_hasCollateral(key, _newCache())) revert AccountHasCollateral();
        _settleBadDebt(key, owner, subId);
    }

    /* INTERNAL */

    /// @dev Checks the account, prices the pair and fixes `v.repaid` and `v.seized` (before any transfer).
    function _quoteLiquidation(
        Liquidation memory v,
        Market storage md,
        Market storage mc,
        Cache memory cache,
        uint256 repayAmount
    ) internal view {
        Health memory h = _health(v.key, cache);
        if (h.collMaint >= h.debtMaint) revert AccountHealthy(_signedDiff(h.collMaint, h.debtMaint));
        v.healthFactorBefore = _healthFactor(h);
        int256 debtBal = _scaled[v.key][v.debtToken];
        if (debtBal >= 0) revert NoDebt(v.debtToken);
        uint256 held = _depositOf(mc, v.key, v.collToken);
        if (held == 0) revert NoCollateral(v.collToken);
        v.held = held;

        v.pair = LiquidationMath.Pair({
            priceDebt: cache.prices[md.index],
            decimalsDebt: md.decimals,
            priceColl: cache.prices[mc.index],
            decimalsColl: mc.decimals,
            bonus: mc.params.liquidationBonus
        });
        v.debt = MarketMath.debtAmountUp(uint256(-debtBal), md.borrowIndex);
        v.repaid = _closeFactorCap(v, repayAmount);
        v.seized = LiquidationMath.seizeForRepayDown(v.repaid, v.pair);
        if (v.seized > held) {
            v.seized = held;
            uint256 repaidForAll = LiquidationMath.repayForSeizeUp(held, v.pair);
            if (repaidForAll < v.repaid) v.repaid = repaidForAll;
        }
        if (v.repaid == 0 || v.seized == 0) revert NothingToLiquidate(v.repaid, v.seized);
    }

    /// @dev Close factor and dust rule applied to the liquidator's `requested` repay.
    function _closeFactorCap(Liquidation memory v, uint256 requested) internal view returns (uint256 repaid) {
        uint256 debt = v.debt;
        uint256 dust = _dustValue;
        bool full = v.healthFactorBefore < FULL_CLOSE_HEALTH_FACTOR
            || MarketMath.valueUp(debt, v.pair.priceDebt, v.pair.decimalsDebt) <= dust;
        uint256 maxRepay = full ? debt : debt.wMulDown(CLOSE_FACTOR);
        repaid = requested < maxRepay ? requested : maxRepay;
        uint256 left = debt - repaid;
        if (left > 0 && MarketMath.valueUp(left, v.pair.priceDebt, v.pair.decimalsDebt) < dust) repaid = debt;
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
            v.healthFactorAfter
        );
    }

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
                if (m.totalDepositScale == 0) {
                    socialised = 0; // nobody left to bear it; the event shows debt > covered + socialised
                } else {
                    m.depositIndex = MarketMath.socialise(m.depositIndex, m.totalDepositScale, socialised).toUint128();
                }
            }
            emit BadDebtSettled(owner, subId, token, debt, covered, socialised, m.depositIndex);
        }
    }
}
