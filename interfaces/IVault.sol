// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRouter} from "./IOracleRouter.sol";

/// @title IVault
/// @notice Pooled cross-margin lending: every sub-account `(owner, subId)` holds one signed, index-scaled
/// balance per listed asset (positive = deposit, negative = debt) and everything in a sub-account backs
/// everything in it. Isolated margin is one position per sub-account.
/// @dev Units: WAD (1e18) for weights, bonus, shares, rates, indexes, prices (USD per whole token) and USD
/// values; token amounts in the token's own decimals. Rounding always favours the vault: deposits and
/// seizures round down, debts round up.
interface IVault {
    /* TYPES */

    /// @notice Risk parameters of one market. Weights, bonus, protocolShare and reserveFactor are WAD;
    /// caps are token units with 0 meaning no cap.
    /// @dev Valid iff 0 < assetWeightInit <= assetWeightMaint < 1e18, 1e18 <= liabWeightMaint <=
    /// liabWeightInit, liquidationBonus > 0, assetWeightMaint * (1e18 + liquidationBonus) <= 1e36,
    /// protocolShare <= 1e18, reserveFactor < 1e18 and irm != 0.
    /// @notice An owner's signed approval (or revocation) of an operator; see `setOperatorWithSig`.
    struct Authorization {
        address owner;
        address operator;
        bool approved;
        uint256 nonce;
        uint256 deadline;
    }

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
    struct AccountState {
        address[] tokens;
        int256[] balances;
        int256 healthInit;
        int256 healthMaint;
        uint256 healthFactor;
        uint256 collateralValue;
        uint256 debtValue;
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

    /* EVENTS */

    /// @notice `token` was listed as market number `index` with `decimals` and `params`.
    event MarketListed(address indexed token, uint8 decimals, uint256 index, MarketParams params);
    /// @notice The parameters of `token` changed to `params`.
    event MarketParamsSet(address indexed token, MarketParams params);
    /// @notice The dust threshold (USD WAD) used by the close factor changed.
    event DustValueSet(uint256 dustValue);
    /// @notice Governance moved from `previous` to `governor`.
    event GovernorSet(address indexed previous, address indexed governor);
    /// @notice The guardian changed from `previous` to `guardian`.
    event GuardianSet(address indexed previous, address indexed guardian);
    /// @notice Global pause flags changed.
    event PauseSet(address indexed caller, bool borrowPaused, bool withdrawPaused, bool liquidatePaused);
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
    /// to reserves. Health factors are WAD (type(uint256).max without debt).
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
        uint256 healthFactorAfter
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

    /* ERRORS */

    /// @notice The caller is not the governor.
    error NotGovernor(address caller);
    /// @notice A `setOperatorWithSig` authorization past its deadline.
    error SignatureExpired(uint256 deadline);
    /// @notice A `setOperatorWithSig` authorization whose nonce is not the owner's next one.
    error InvalidNonce(uint256 expected, uint256 given);
    /// @notice A `setOperatorWithSig` signature not made by the authorization's owner.
    error InvalidSignature(address signer, address owner);
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
    /// @notice The liquidation would repay or seize nothing.
    error NothingToLiquidate(uint256 repaid, uint256 seized);
    /// @notice The sub-account still has a deposit worth at least one token unit, so its debt is not bad debt.
    error AccountHasCollateral();
    /// @notice The sub-account has no debt to settle.
    error AccountHasNoDebt();
    /// @notice Reserves `reserves` are below the `amount` asked for.
    error InsufficientReserves(uint256 reserves, uint256 amount);
    /// @notice `owners` and `subIds` differ in length.
    error LengthMismatch(uint256 owners, uint256 subIds);

    /* GOVERNANCE */

    /// @notice The address that lists markets, sets parameters and takes reserves.
    function governor() external view returns (address);
    /// @notice The address that may pause (besides the governor).
    function guardian() external view returns (address);
    /// @notice The oracle router used for every price.
    function router() external view returns (IOracleRouter);
    /// @notice Debt value (USD WAD) at or below which the close factor is 100 %; a liquidation may not
    /// leave less than this (but more than 0) of the repaid asset's debt.
    function dustValue() external view returns (uint256);
    /// @notice Whether borrowing is paused.
    function borrowPaused() external view returns (bool);
    /// @notice Whether withdrawals and sub-account transfers are paused.
    function withdrawPaused() external view returns (bool);
    /// @notice Whether liquidations are paused.
    function liquidatePaused() external view returns (bool);

    /// @notice List `token` with `p` (see MarketParams for validity). Governor only; at most 16 markets;
    /// the router must already price `token`.
    function listMarket(address token, MarketParams calldata p) external;
    /// @notice Replace the parameters of listed `token` after accruing it. Governor only.
    function setMarketParams(address token, MarketParams calldata p) external;
    /// @notice Set the dust threshold in USD WAD. Governor only.
    function setDustValue(uint256 usdWad) external;
    /// @notice Hand governance to `newGovernor`. Governor only.
    function setGovernor(address newGovernor) external;
    /// @notice Replace the guardian (zero disables it). Governor only.
    function setGuardian(address newGuardian) external;
    /// @notice Set the global pause flags. Guardian or governor. Deposits and repays are never paused.
    function setPaused(bool borrow, bool withdraw, bool liquidate) external;
    /// @notice Send `amount` of `token` reserves to `to`. Governor only; reserves lent out cannot be taken.
    function withdrawReserves(address token, uint256 amount, address to) external;

    /* INTEREST */

    /// @notice Accrue interest on `token` up to this block. Every action accrues the markets it touches.
    function accrue(address token) external;

    /* ACCOUNT ACTIONS */

    /// @notice Approve or revoke `operator` to withdraw, borrow and transfer for all of the caller's
    /// sub-accounts (via the `...From` functions).
    function setOperator(address operator, bool approved) external;
    /// @notice `setOperator` on behalf of `auth.owner`, who signed `auth` as EIP-712 typed data
    /// (domain: chainId and this vault; type `Authorization(address owner,address operator,bool approved,
    /// uint256 nonce,uint256 deadline)`). Lets a bundler approve itself and act in one transaction.
    /// @dev Reverts with `SignatureExpired` after `auth.deadline`, `InvalidNonce` unless `auth.nonce` is the
    /// owner's next nonce (each signature works once), `InvalidSignature` unless `auth.owner` signed it.
    function setOperatorWithSig(Authorization calldata auth, uint8 v, bytes32 r, bytes32 s) external;
    /// @notice The next nonce `owner` must sign for `setOperatorWithSig`.
    function nonces(address owner) external view returns (uint256);
    /// @notice Whether `operator` may act for `owner`.
    function isOperator(address owner, address operator) external view returns (bool);

    /// @notice Pay `amount` of `token` from the caller into `(owner, subId)`. Anyone may deposit for anyone;
    /// a debt in `token` is repaid first. Needs no price. Fee-on-transfer tokens are credited what arrived.
    /// @return credited The amount that arrived and was credited.
    function deposit(address owner, uint8 subId, address token, uint256 amount) external returns (uint256 credited);

    /// @notice Withdraw `amount` (type(uint256).max = all) of the caller's `token` deposit in `subId` to
    /// `receiver`. Cannot open debt. Afterwards health_init >= 0 unless the sub-account has no debt.
    function withdraw(uint8 subId, address token, uint256 amount, address receiver) external returns (uint256 withdrawn);
    /// @notice `withdraw` for `owner`, by `owner` or its operator.
    function withdrawFrom(address owner, uint8 subId, address token, uint256 amount, address receiver)
        external
        returns (uint256 withdrawn);

    /// @notice Take `amount` of `token` out of the caller's `subId` to `receiver`: any deposit in `token`
    /// is consumed first, the rest becomes debt. Afterwards health_init >= 0.
    function borrow(uint8 subId, address token, uint256 amount, address receiver) external;
    /// @notice `borrow` for `owner`, by `owner` or its operator.
    function borrowFrom(address owner, uint8 subId, address token, uint256 amount, address receiver) external;

    /// @notice Repay up to `amount` (type(uint256).max = all) of `(owner, subId)`'s `token` debt from the
    /// caller. Anyone may repay; never pulls more than the debt; needs no price.
    /// @return repaid The amount that arrived and was credited against the debt.
    function repay(address owner, uint8 subId, address token, uint256 amount) external returns (uint256 repaid);

    /// @notice Move `amount` (type(uint256).max = all) of the caller's `token` deposit from `fromSubId` to
    /// `toSubId` (where it repays any `token` debt first). `fromSubId` must stay health_init >= 0.
    function transfer(uint8 fromSubId, uint8 toSubId, address token, uint256 amount) external;
    /// @notice `transfer` between `owner`'s sub-accounts, by `owner` or its operator.
    function transferFrom(address owner, uint8 fromSubId, uint8 toSubId, address token, uint256 amount) external;

    /// @notice Liquidate `(owner, subId)`, which must have health_maint < 0: repay up to `repayAmount`
    /// (type(uint256).max = as much as allowed) of its `debtToken` debt from the caller and take
    /// repaid × price_d × (1 + bonus_c) / price_c of its `collToken` deposit. The caller's
    /// `(msg.sender, liquidatorSubId)` is credited that less the protocol's share of the bonus part.
    /// @dev Close factor: 50 % of the `debtToken` debt per call, 100 % when healthFactor < 0.95 or the debt
    /// value is <= dustValue; a repay that would leave a debt worth less than dustValue (but > 0) is
    /// raised to the whole debt. The seizure is capped by the deposit and the repay shrinks to match. A
    /// fee-on-transfer debt token is credited what arrived and the liquidator paid for that only; when the
    /// capped quote took the whole deposit, the rest of it goes to reserves (in protocolCut). If
    /// the sub-account ends with debt and no deposit worth a token unit, its bad debt is settled in the
    /// same call.
    function liquidate(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount,
        uint8 liquidatorSubId
    ) external returns (uint256 repaid, uint256 seized);

    /// @notice Write off the debt of `(owner, subId)`, which must owe something and hold no deposit worth a
    /// token unit: reserves of each debt asset absorb first, the rest lowers that asset's deposit index.
    /// @dev Deposit scale worth 0 (rounding dust, or left so by an earlier socialised loss) is cleared too.
    function settleBadDebt(address owner, uint8 subId) external;

    /* VIEWS */

    /// @notice Whether the reentrancy lock is held (it must be free between transactions).
    function reentrancyLocked() external view returns (bool);
    /// @notice Listed markets in listing order.
    function markets() external view returns (address[] memory);
    /// @notice The risk parameters of `token`.
    function marketParams(address token) external view returns (MarketParams memory);
    /// @notice The state of `token`'s market accrued to this block.
    function marketState(address token) external view returns (MarketState memory);
    /// @notice Signed underlying balance (accrued; deposits down, debts up) of `(owner, subId)` in `token`.
    function balanceOf(address owner, uint8 subId, address token) external view returns (int256);
    /// @notice Signed scaled balance of `(owner, subId)` in `token`.
    function scaledBalanceOf(address owner, uint8 subId, address token) external view returns (int256);
    /// @notice Full state of one sub-account. Does not revert for an empty sub-account.
    function accountState(address owner, uint8 subId) external view returns (AccountState memory);
    /// @notice `accountState` for many sub-accounts in one call.
    function accountStates(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (AccountState[] memory);
    /// @notice For each sub-account, whether health_maint < 0.
    function liquidatable(address[] calldata owners, uint8[] calldata subIds) external view returns (bool[] memory);
}
