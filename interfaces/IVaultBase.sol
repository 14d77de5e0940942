// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVaultBase
/// @notice The vocabulary every part of the vault shares: its types, events and custom errors. The vault
/// (`IVault`) and its liquidation module (`IVaultLiquidation`, run by delegatecall in the vault's storage)
/// both emit and raise these, so they appear in the vault's ABI whichever contract's code runs.
/// @dev Units: WAD (1e18) for weights, bonus, shares, rates, indexes, prices (USD per whole token) and USD
/// values; token amounts in the token's own decimals. Rounding always favours the vault: deposits and
/// seizures round down, debts round up.
interface IVaultBase {
    /* TYPES */

    /// @notice An owner's signed approval (or revocation) of an operator; see `setOperatorWithSig`.
    struct Authorization {
        address owner;
        address operator;
        bool approved;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Risk parameters of one market. Weights, bonus, protocolShare and reserveFactor are WAD;
    /// caps are token units with 0 meaning no cap.
    /// @dev Valid iff the caps fit the books (see `CapTooLarge`), the rate model is a contract and 0 < assetWeightInit <= assetWeightMaint < 1e18, 1e18 <= liabWeightMaint <=
    /// liabWeightInit, liquidationBonus > 0, assetWeightMaint * (1e18 + liquidationBonus) <= 1e36,
    /// protocolShare <= 1e18, reserveFactor < 1e18 and irm != 0.
    struct MarketParams {
        uint64 assetWeightInit;
        uint64 assetWeightMaint;
        uint64 liabWeightInit;
        uint64 liabWeightMaint;
        uint64 liquidationBonus;
        uint64 protocolShare;
        uint64 reserveFactor;
        uint128 supplyCap;
        uint128 borrowCap;
        address irm;
    }

    /// @notice One sub-account, valued now (indexes accrued to this block, current oracle prices).
    /// @param tokens Markets in which the sub-account has a non-zero balance, in listing order.
    /// @param balances Signed underlying amounts (token units) for `tokens`: deposits rounded down,
    /// debts rounded up.
    /// @param healthInit Σ deposit value × assetWeightInit − Σ debt value × liabWeightInit (USD WAD).
    /// @param healthMaint The same with maintenance weights; the sub-account is liquidatable iff < 0.
    /// @param healthFactor Σ deposit value × assetWeightMaint / Σ debt value × liabWeightMaint (WAD),
    /// type(uint256).max without debt.
    /// @param collateralValue Σ deposit values, unweighted (USD WAD).
    /// @param debtValue Σ debt values, unweighted (USD WAD).
    /// @param unpriced Set only by the batch view `accountStates`: a market the sub-account holds has no price
    /// the router accepts (stale, guarded, sequencer down). Only `tokens` is filled; balances and health fields are 0.
    struct AccountState {
        address[] tokens;
        int256[] balances;
        int256 healthInit;
        int256 healthMaint;
        uint256 healthFactor;
        uint256 collateralValue;
        uint256 debtValue;
        bool unpriced;
    }

    /// @notice How `liquidate` sizes and pays a liquidation; one per vault, chosen by governance.
    /// `CloseFactor` (Aave-like, the default): the collateral's own bonus, 50 % of one debt per call (100 %
    /// below a health factor of 0.95). `FixedIncentive` (Morpho-like): any size, an incentive set by the
    /// collateral's maintenance weight. `Dutch` (Euler-v2-like): a discount that grows as health falls, up to
    /// the amount that restores health. `Absorb` (Compound-III-like): `liquidate` is closed; `absorb` takes
    /// over a whole account and `buyCollateral` sells what it took. See IVaultLiquidation.
    enum LiquidationPolicy {
        CloseFactor,
        FixedIncentive,
        Dutch,
        Absorb
    }

    /// @notice Governance-set parameters of the liquidation policies (all WAD). Each policy reads its own.
    /// @param closeFactor CloseFactor: share of one asset's debt a call may repay; 0 < x <= 1 (0.5).
    /// @param fullCloseHealthFactor CloseFactor: below this health factor a call may repay the whole debt;
    /// <= 1 (0.95).
    /// @param incentiveCursor FixedIncentive: Morpho's cursor: incentive = min(maxIncentive,
    /// 1 / (1 - cursor * (1 - assetWeightMaint)) - 1); <= 1 (0.3).
    /// @param maxIncentive FixedIncentive: cap of that incentive; <= 0.25 (0.15).
    /// @param maxDiscount Dutch: cap of the discount: incentive = 1 / max(healthFactor, 1 - maxDiscount) - 1;
    /// <= 0.2 (0.15).
    /// @param targetHealthFactor Dutch: a call may repay up to the amount that lifts the health factor to
    /// this; 1.01 <= x <= 1.5 (1.02). Above 1 so that the rounding of the balances moved (a few token units)
    /// cannot leave the account a hair below 1, liquidatable again for a few units.
    /// @param storeFrontFactor Absorb: a `buyCollateral` buyer's incentive is this share of the collateral's
    /// liquidation bonus; <= 1 (0.5).
    struct LiquidationParams {
        uint64 closeFactor;
        uint64 fullCloseHealthFactor;
        uint64 incentiveCursor;
        uint64 maxIncentive;
        uint64 maxDiscount;
        uint64 targetHealthFactor;
        uint64 storeFrontFactor;
    }

    /// @notice One market, accrued to this block. Totals are in token units (deposits rounded down,
    /// borrows rounded up); rates are per second in WAD; `lastAccrual` is the last stored accrual.
    struct MarketState {
        address token;
        uint8 decimals;
        uint256 depositIndex;
        uint256 borrowIndex;
        uint256 totalDepositScale;
        uint256 totalBorrowScale;
        uint256 totalDeposits;
        uint256 totalBorrows;
        uint256 reserves;
        uint256 utilization;
        uint256 borrowRatePerSecond;
        uint256 supplyRatePerSecond;
        uint64 lastAccrual;
    }

    /// @notice What `liquidate` would do now, as `previewLiquidation` reports it (amounts in token units,
    /// health factors and the incentive WAD, as in the `Liquidated` event it would emit).
    /// @param policy The policy in force, which sized and priced this quote.
    /// @param repaid Of the debt token, pulled from the liquidator and credited against the debt.
    /// @param seized Of the collateral token, taken from the account (`seizedTotal` in the event).
    /// @param toLiquidator Of `seized`, credited to the liquidator's sub-account as a deposit.
    /// @param protocolCut Of `seized`, the protocol's share of the incentive part, to reserves.
    /// @param incentive The bonus the policy pays: seized value = repaid value x (1 + incentive), rounded down.
    /// @param healthFactorBefore The account's health factor now.
    /// @param healthFactorAfter Its health factor after the call (type(uint256).max once it owes nothing).
    /// @param settlesBadDebt Whether the call leaves debt and no collateral, so it writes the debt off
    /// (`BadDebtSettled` events) in the same call.
    struct LiquidationPreview {
        LiquidationPolicy policy;
        uint256 repaid;
        uint256 seized;
        uint256 toLiquidator;
        uint256 protocolCut;
        uint256 incentive;
        uint256 healthFactorBefore;
        uint256 healthFactorAfter;
        bool settlesBadDebt;
    }

    /* EVENTS */

    /// @notice `token` was listed as market number `index` with `decimals` and `params`.
    event MarketListed(address indexed token, uint8 decimals, uint256 index, MarketParams params);
    /// @notice The parameters of `token` changed to `params`.
    event MarketParamsSet(address indexed token, MarketParams params);
    /// @notice The liquidation policy changed from `previous` to `policy`.
    event LiquidationPolicySet(LiquidationPolicy previous, LiquidationPolicy policy);
    /// @notice The liquidation policies' parameters changed to `params`.
    event LiquidationParamsSet(LiquidationParams params);
    /// @notice A liquidation must now leave each side at 0 or worth at least these (USD WAD).
    event DustMinimumsSet(uint256 minDebtLeftValue, uint256 minCollateralLeftValue);
    /// @notice Governance moved from `previous` to `governor`.
    event GovernorSet(address indexed previous, address indexed governor);
    /// @notice The guardian changed from `previous` to `guardian`.
    event GuardianSet(address indexed previous, address indexed guardian);
    /// @notice Global pause flags changed.
    event PauseSet(address indexed caller, bool borrowPaused, bool withdrawPaused, bool liquidatePaused);
    /// @notice `governor` proposed `pendingGovernor` as its successor (it takes over by `acceptGovernance`).
    event GovernorProposed(address indexed governor, address indexed pendingGovernor);
    /// @notice An unpause of liquidations from now on starts a grace period of `period` seconds (was `previous`).
    event LiquidationGracePeriodSet(uint256 previous, uint256 period);
    /// @notice Liquidations were unpaused; they stay refused until `until` (a timestamp).
    event LiquidationGraceStarted(uint256 until);
    /// @notice `owner` used up its signature nonce `nonce`: a signed authorization carrying it no longer works.
    event NonceUsed(address indexed owner, uint256 nonce);
    /// @notice `owner` approved or revoked `operator` for all of its sub-accounts.
    event OperatorSet(address indexed owner, address indexed operator, bool approved);
    /// @notice Interest accrued on `token`: new indexes, the reserve cut and the total interest charged
    /// to borrowers (token units).
    event Accrued(address indexed token, uint256 borrowIndex, uint256 depositIndex, uint256 reservesAdded, uint256 interest);
    /// @notice `caller` paid `amount` of `token` into `(owner, subId)`; it repaid `debtRepaid` of debt first.
    /// `scaledBalance` is the sub-account's signed scaled balance afterwards.
    event Deposit(
        address indexed caller,
        address indexed owner,
        uint8 subId,
        address indexed token,
        uint256 amount,
        uint256 debtRepaid,
        int256 scaledBalance
    );
    /// @notice `caller` withdrew `amount` of `token` from `(owner, subId)` to `receiver`.
    event Withdraw(
        address indexed caller,
        address indexed owner,
        uint8 subId,
        address indexed token,
        uint256 amount,
        address receiver,
        int256 scaledBalance
    );
    /// @notice `caller` took `amount` of `token` out of `(owner, subId)` to `receiver`: `fromDeposit` of it
    /// consumed the deposit and the rest opened debt.
    event Borrow(
        address indexed caller,
        address indexed owner,
        uint8 subId,
        address indexed token,
        uint256 amount,
        uint256 fromDeposit,
        address receiver,
        int256 scaledBalance
    );
    /// @notice `caller` repaid `amount` of `(owner, subId)`'s `token` debt.
    event Repay(
        address indexed caller,
        address indexed owner,
        uint8 subId,
        address indexed token,
        uint256 amount,
        int256 scaledBalance
    );
    /// @notice `amount` of `token` deposit moved from `(owner, fromSubId)` to `(owner, toSubId)`.
    event SubAccountTransfer(
        address indexed caller,
        address indexed owner,
        uint8 fromSubId,
        uint8 toSubId,
        address indexed token,
        uint256 amount
    );
    /// @notice `liquidator` repaid `repaid` of `(owner, subId)`'s `debtToken` debt and took `seizedTotal`
    /// of its `collToken` deposit: `toLiquidator` credited to the liquidator's sub-account, `protocolCut`
    /// to reserves. `incentive` is the bonus the policy paid (WAD: seized value = repaid value x (1 +
    /// incentive), rounded down). Health factors are WAD (type(uint256).max without debt).
    /// `liquidatorSubId` is the liquidator's sub-account `(liquidator, liquidatorSubId)` that `toLiquidator` was
    /// credited to, so an indexer can rebuild every balance from events alone (last, so that decoders reading
    /// the other fields by position keep working).
    event Liquidated(
        address indexed liquidator,
        address indexed owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repaid,
        uint256 seizedTotal,
        uint256 toLiquidator,
        uint256 protocolCut,
        uint256 healthFactorBefore,
        uint256 healthFactorAfter,
        uint256 incentive,
        uint8 liquidatorSubId
    );
    /// @notice `absorber` had the protocol take over `(owner, subId)` whole (policy `Absorb`): every deposit
    /// went to the protocol's sub-account (`CollateralAbsorbed`, one per asset) and every debt was written
    /// off (`BadDebtSettled`, one per asset: reserves first, then socialised). Values are the account's
    /// before (USD WAD). Counts as one liquidation of the account.
    event Absorbed(
        address indexed absorber,
        address indexed owner,
        uint8 subId,
        uint256 collateralValue,
        uint256 debtValue,
        uint256 healthFactorBefore
    );
    /// @notice `amount` of `(owner, subId)`'s `token` deposit went to the protocol's sub-account.
    event CollateralAbsorbed(address indexed owner, uint8 subId, address indexed token, uint256 amount);
    /// @notice `buyer` paid `paid` of `payToken` (to its reserves) for `bought` of the protocol's absorbed
    /// `collToken`, credited to `(buyer, buyerSubId)`, at `incentive` (WAD) over the oracle price.
    event CollateralBought(
        address indexed buyer,
        uint8 buyerSubId,
        address indexed collToken,
        address indexed payToken,
        uint256 paid,
        uint256 bought,
        uint256 incentive
    );
    /// @notice `(owner, subId)`'s `debt` of `token` was written off: `coveredByReserves` from reserves,
    /// `socialised` by lowering the deposit index to `newDepositIndex`.
    event BadDebtSettled(
        address indexed owner,
        uint8 subId,
        address indexed token,
        uint256 debt,
        uint256 coveredByReserves,
        uint256 socialised,
        uint256 newDepositIndex
    );
    /// @notice The governor took `amount` of `token` reserves to `to`.
    event ReservesWithdrawn(address indexed token, uint256 amount, address indexed to);
    /// @notice Bad debt of `amount` token units could not be socialised (no deposits, or the deposit index at its
    /// floor): `token`'s deficit is now `deficit`.
    event DeficitRecorded(address indexed token, uint256 amount, uint256 deficit);
    /// @notice `payer` covered `amount` of `token`'s deficit, from reserves (`fromReserves`) or with tokens paid
    /// in; the deficit is now `deficit`.
    event DeficitCovered(address indexed payer, address indexed token, uint256 amount, bool fromReserves,
        uint256 deficit);

    /* ERRORS */

    /// @notice The caller is not the governor.
    error NotGovernor(address caller);
    /// @notice A `setOperatorWithSig` authorization past its deadline.
    error SignatureExpired(uint256 deadline);
    /// @notice A `setOperatorWithSig` authorization whose nonce is not the owner's next one.
    error InvalidNonce(uint256 expected, uint256 given);
    /// @notice A `setOperatorWithSig` signature not made by the authorization's owner: for an owner with
    /// code (an ERC-1271 wallet), `signer` is zero and the wallet did not return the magic value.
    error InvalidSignature(address signer, address owner);
    /// @notice A module address given to the vault's constructor has no code.
    error ModuleNotContract(address module);
    /// @notice A module given to the vault's constructor is not the expected module, or not built with the
    /// vault's router (`IVaultModule.moduleIdentity`).
    error WrongModule(address module);
    /// @notice The caller is neither the guardian nor the governor.
    error NotGuardian(address caller);
    /// @notice The caller is neither `owner` nor an operator `owner` approved.
    error NotOwnerOrOperator(address owner, address caller);
    /// @notice A zero address was given where a contract or account is required.
    error ZeroAddress();
    /// @notice `token` is already listed.
    error MarketAlreadyListed(address token);
    /// @notice `token` is not listed.
    error MarketNotListed(address token);
    /// @notice The market list is full.
    error TooManyMarkets(uint256 max);
    /// @notice The oracle router has no feed for `token`.
    error MissingFeed(address token);
    /// @notice The token reports more than 36 decimals.
    error DecimalsOutOfRange(uint8 decimals);
    /// @notice Asset weights break 0 < init <= maint < 1e18.
    error InvalidAssetWeights(uint64 init, uint64 maint);
    /// @notice Liability weights break 1e18 <= maint <= init.
    error InvalidLiabilityWeights(uint64 init, uint64 maint);
    /// @notice The liquidation bonus is 0.
    error ZeroLiquidationBonus();
    /// @notice assetWeightMaint × (1 + bonus) > 1: a liquidation could make the account less healthy.
    error BonusTooLargeForWeight(uint64 assetWeightMaint, uint64 liquidationBonus);
    /// @notice The protocol's share of the bonus exceeds 100 %.
    error ProtocolShareAboveOne(uint64 protocolShare);
    /// @notice The reserve factor is 100 % or more.
    error ReserveFactorTooHigh(uint64 reserveFactor);
    /// @notice Amount is zero (or rounds to nothing).
    error ZeroAmount();
    /// @notice The deposit would leave total deposits `totalDeposits` above `cap`.
    error SupplyCapExceeded(uint256 totalDeposits, uint256 cap);
    /// @notice The borrow would leave total borrows `totalBorrows` above `cap`.
    error BorrowCapExceeded(uint256 totalBorrows, uint256 cap);
    /// @notice Liquidity would leave the pool: afterwards total borrows would exceed total deposits
    /// (or, for reserves, deposits plus the remaining reserves).
    error InsufficientLiquidity(uint256 available, uint256 borrows);
    /// @notice The sub-account's deposit `deposit` is below the `amount` asked for.
    error InsufficientDeposit(uint256 deposit, uint256 amount);
    /// @notice The action would leave the sub-account with health_init `healthInit` < 0.
    error AccountUnhealthy(int256 healthInit);
    /// @notice Borrowing is paused.
    error BorrowPaused();
    /// @notice Withdrawals and sub-account transfers are paused.
    error WithdrawPaused();
    /// @notice Liquidations are paused.
    error LiquidationPaused();
    /// @notice Liquidations were unpaused recently; they resume at `until` (a timestamp).
    error LiquidationGracePeriod(uint256 until);
    /// @notice The guardian may only pause, never unpause: unpausing is the governor's.
    error GuardianCannotUnpause(address caller);
    /// @notice The guardian pauses one flag per call (`changed` flags would change).
    error GuardianPausesOneFlag(uint256 changed);
    /// @notice A liquidation grace period above the bound `max` (seconds).
    error GracePeriodTooLong(uint256 period, uint256 max);
    /// @notice The caller is not the governor-elect.
    error NotPendingGovernor(address caller);
    /// @notice The sub-account has health_maint `healthMaint` >= 0 and cannot be liquidated.
    error AccountHealthy(int256 healthMaint);
    /// @notice The sub-account owes nothing in `token`.
    error NoDebt(address token);
    /// @notice The sub-account has no `token` deposit.
    error NoCollateral(address token);
    /// @notice The liquidator's sub-account is the liquidated one.
    error SelfLiquidation();
    /// @notice Source and destination sub-accounts are the same.
    error SameSubAccount();
    /// @notice The liquidation would repay or seize nothing (or repay so little that no debt scale burns).
    error NothingToLiquidate(uint256 repaid, uint256 seized);
    /// @notice The liquidation would lower the health factor (`healthFactorBefore` to `healthFactorAfter`) of
    /// an account that is solvent at the incentive it pays; another collateral (or debt) raises it.
    error HealthFactorNotImproved(uint256 healthFactorBefore, uint256 healthFactorAfter);
    /// @notice Within the amount named, the liquidation would leave the debt and the collateral both above 0
    /// and one of them worth less than its minimum (USD WAD): name less, or enough to close one side.
    error LeavesDust(
        uint256 debtLeftValue, uint256 collateralLeftValue, uint256 minDebtLeftValue, uint256 minCollateralLeftValue
    );
    /// @notice The call does not belong to the vault's liquidation policy `policy` (`liquidate` under
    /// `Absorb`, `absorb` under any other).
    error WrongLiquidationPolicy(LiquidationPolicy policy);
    /// @notice A close factor of 0 or above 1.
    error CloseFactorOutOfRange(uint64 closeFactor);
    /// @notice A full-close health factor above 1.
    error FullCloseHealthFactorOutOfRange(uint64 fullCloseHealthFactor);
    /// @notice An incentive cursor above 1.
    error IncentiveCursorOutOfRange(uint64 incentiveCursor);
    /// @notice A fixed incentive cap above `max`.
    error MaxIncentiveOutOfRange(uint64 maxIncentive, uint64 max);
    /// @notice A Dutch discount cap above `max`.
    error MaxDiscountOutOfRange(uint64 maxDiscount, uint64 max);
    /// @notice A Dutch target health factor below 1.01 or above 1.5.
    error TargetHealthFactorOutOfRange(uint64 targetHealthFactor);
    /// @notice A store-front factor above 1.
    error StoreFrontFactorOutOfRange(uint64 storeFrontFactor);
    /// @notice A dust minimum above `max` (USD WAD).
    error DustValueTooHigh(uint256 value, uint256 max);
    /// @notice `buyCollateral` paying in the collateral it buys.
    error PayTokenIsCollateral(address token);
    /// @notice `buyCollateral` would deliver `bought`, less than the buyer's `minimum`.
    error BoughtBelowMinimum(uint256 bought, uint256 minimum);
    /// @notice The sub-account still has a deposit worth at least one token unit, so its debt is not bad debt.
    error AccountHasCollateral();
    /// @notice The sub-account has no debt to settle.
    error AccountHasNoDebt();
    /// @notice Reserves `reserves` are below the `amount` asked for.
    error InsufficientReserves(uint256 reserves, uint256 amount);
    /// @notice `owners` and `subIds` differ in length.
    error LengthMismatch(uint256 owners, uint256 subIds);
    /// @notice The interest rate model `irm` has no code.
    error RateModelNotContract(address irm);
    /// @notice A cap (token units) above `max`, the most the books hold at the floor deposit index; a cap of 0
    /// (uncapped) for a token of more than 26 decimals, whose books would hold less than a million whole tokens.
    error CapTooLarge(uint256 cap, uint256 max);
    /// @notice `amount` is above `token`'s deficit `deficit`.
    error AmountAboveDeficit(uint256 deficit, uint256 amount);
}
