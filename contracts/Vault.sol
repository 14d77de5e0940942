// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IVault} from "../interfaces/IVault.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IInterestRateModel} from "../interfaces/IInterestRateModel.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";
import {LiquidationMath} from "./libraries/LiquidationMath.sol";

/// @title Vault
/// @notice Pooled cross-margin lending core. See IVault for the behaviour of every function.
/// @dev Order in every entry point: checks, accrue, effects, event, token transfer out. Deposit, repay and
/// liquidate pull tokens *before* their effects because they credit the balance delta that actually
/// arrived (fee-on-transfer tokens); the reentrancy lock covers the window. Health reads indexes accrued
/// to this block in a view way, so an action only writes the markets it touches.
contract Vault is IVault, ReentrancyGuard {
    using SafeERC20 for IERC20;
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

    struct Market {
        MarketParams params;
        uint256 depositIndex;
        uint256 borrowIndex;
        uint256 totalDepositScale;
        uint256 totalBorrowScale;
        uint256 reserves;
        uint64 lastAccrual;
        uint8 decimals;
        uint8 index;
        bool listed;
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

    /// @dev Working set of one liquidation (keeps the stack shallow without via-IR).
    struct Liquidation {
        address owner;
        uint8 subId;
        address debtToken;
        address collToken;
        uint256 key;
        uint256 liquidatorKey;
        uint256 debt;
        uint256 repaid;
        uint256 seized;
        uint256 toLiquidator;
        uint256 protocolCut;
        uint256 healthFactorBefore;
        uint256 healthFactorAfter;
        LiquidationMath.Pair pair;
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

    mapping(address token => Market) internal _markets;
    address[] internal _marketList;
    /// @dev Signed scaled balance per account key and token.
    mapping(uint256 key => mapping(address token => int256)) internal _scaled;
    /// @dev Per account key: bit i (low half) = deposit in market i, bit 128 + i = debt in market i.
    mapping(uint256 key => uint256) internal _masks;

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    constructor(address governor_, address guardian_, IOracleRouter router_) {
        if (governor_ == address(0) || address(router_) == address(0)) revert ZeroAddress();
        governor = governor_;
        guardian = guardian_;
        router = router_;
        emit GovernorSet(address(0), governor_);
        emit GuardianSet(address(0), guardian_);
    }

    /* GOVERNANCE */

    /// @inheritdoc IVault
    function listMarket(address token, MarketParams calldata p) external onlyGovernor {
        if (token == address(0)) revert ZeroAddress();
        Market storage m = _markets[token];
        if (m.listed) revert MarketAlreadyListed(token);
        uint256 n = _marketList.length;
        if (n >= MAX_MARKETS) revert TooManyMarkets(MAX_MARKETS);
        if (!router.hasFeed(token)) revert MissingFeed(token);
        uint8 dec = IERC20Metadata(token).decimals();
        if (dec > MAX_DECIMALS) revert DecimalsOutOfRange(dec);
        _validateParams(p);

        m.params = p;
        m.depositIndex = WAD;
        m.borrowIndex = WAD;
        m.lastAccrual = uint64(block.timestamp);
        m.decimals = dec;
        m.index = uint8(n);
        m.listed = true;
        _marketList.push(token);
        emit MarketListed(token, dec, n, p);
    }

    /// @inheritdoc IVault
    function setMarketParams(address token, MarketParams calldata p) external onlyGovernor {
        Market storage m = _listed(token);
        _validateParams(p);
        // Interest up to now is owed at the old rate model and reserve factor.
        _accrue(m, token);
        m.params = p;
        emit MarketParamsSet(token, p);
    }

    /// @inheritdoc IVault
    function setDustValue(uint256 usdWad) external onlyGovernor {
        dustValue = usdWad;
        emit DustValueSet(usdWad);
    }

    /// @inheritdoc IVault
    function setGovernor(address newGovernor) external onlyGovernor {
        if (newGovernor == address(0)) revert ZeroAddress();
        emit GovernorSet(governor, newGovernor);
        governor = newGovernor;
    }

    /// @inheritdoc IVault
    function setGuardian(address newGuardian) external onlyGovernor {
        emit GuardianSet(guardian, newGuardian);
        guardian = newGuardian;
    }

    /// @inheritdoc IVault
    function setPaused(bool borrow_, bool withdraw_, bool liquidate_) external {
        if (msg.sender != guardian && msg.sender != governor) revert NotGuardian(msg.sender);
        borrowPaused = borrow_;
        withdrawPaused = withdraw_;
        liquidatePaused = liquidate_;
        emit PauseSet(msg.sender, borrow_, withdraw_, liquidate_);
    }

    /// @inheritdoc IVault
    function withdrawReserves(address token, uint256 amount, address to) external onlyGovernor nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 reserves = m.reserves;
        if (amount > reserves) revert InsufficientReserves(reserves, amount);
        m.reserves = reserves - amount;
        // Reserves that are lent out (borrows above deposits) stay until repaid.
        uint256 available = _totalDeposits(m) + m.reserves;
        uint256 borrows = _totalBorrows(m);
        if (borrows > available) revert InsufficientLiquidity(available, borrows);
        emit ReservesWithdrawn(token, amount, to);
        IERC20(token).safeTransfer(to, amount);
    }

    /* INTEREST */

    /// @inheritdoc IVault
    function accrue(address token) external nonReentrant {
        _accrue(_listed(token), token);
    }

    /* ACCOUNT ACTIONS */

    /// @inheritdoc IVault
    function setOperator(address operator, bool approved) external {
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
    }

    /// @inheritdoc IVault
    function deposit(address owner, uint8 subId, address token, uint256 amount)
        external
        nonReentrant
        returns (uint256 credited)
    {
        if (owner == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Market storage m = _listed(token);
        _accrue(m, token);

        credited = _pull(token, amount);
        uint256 key = _key(owner, subId);
        (uint256 debtRepaid, uint256 scaleAdded) = _credit(m, key, token, credited);
        // A deposit so small it buys no scale would be a silent donation.
        if (debtRepaid == 0 && scaleAdded == 0) revert ZeroAmount();
        if (scaleAdded > 0) {
            uint256 cap = m.params.supplyCap;
            uint256 total = _totalDeposits(m);
            if (cap != 0 && total > cap) revert SupplyCapExceeded(total, cap);
        }
        emit Deposit(msg.sender, owner, subId, token, credited, debtRepaid, _scaled[key][token]);
    }

    /// @inheritdoc IVault
    function withdraw(uint8 subId, address token, uint256 amount, address receiver)
        external
        nonReentrant
        returns (uint256)
    {
        return _withdraw(msg.sender, subId, token, amount, receiver);
    }

    /// @inheritdoc IVault
    function withdrawFrom(address owner, uint8 subId, address token, uint256 amount, address receiver)
        external
        nonReentrant
        returns (uint256)
    {
        _requireOwnerOrOperator(owner);
        return _withdraw(owner, subId, token, amount, receiver);
    }

    /// @inheritdoc IVault
    function borrow(uint8 subId, address token, uint256 amount, address receiver) external nonReentrant {
        _borrow(msg.sender, subId, token, amount, receiver);
    }

    /// @inheritdoc IVault
    function borrowFrom(address owner, uint8 subId, address token, uint256 amount, address receiver)
        external
        nonReentrant
    {
        _requireOwnerOrOperator(owner);
        _borrow(owner, subId, token, amount, receiver);
    }

    /// @inheritdoc IVault
    function repay(address owner, uint8 subId, address token, uint256 amount)
        external
        nonReentrant
        returns (uint256 repaid)
    {
        if (amount == 0) revert ZeroAmount();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 key = _key(owner, subId);
        int256 bal = _scaled[key][token];
        if (bal >= 0) revert NoDebt(token);
        uint256 debt = MarketMath.debtAmountUp(uint256(-bal), m.borrowIndex);

        repaid = _pull(token, amount < debt ? amount : debt);
        if (repaid == 0) revert ZeroAmount();
        _credit(m, key, token, repaid);
        emit Repay(msg.sender, owner, subId, token, repaid, _scaled[key][token]);
    }

    /// @inheritdoc IVault
    function transfer(uint8 fromSubId, uint8 toSubId, address token, uint256 amount) external nonReentrant {
        _transfer(msg.sender, fromSubId, toSubId, token, amount);
    }

    /// @inheritdoc IVault
    function transferFrom(address owner, uint8 fromSubId, uint8 toSubId, address token, uint256 amount)
        external
        nonReentrant
    {
        _requireOwnerOrOperator(owner);
        _transfer(owner, fromSubId, toSubId, token, amount);
    }

    /* LIQUIDATION */

    /// @inheritdoc IVault
    function liquidate(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount,
        uint8 liquidatorSubId
    ) external nonReentrant returns (uint256, uint256) {
        if (liquidatePaused) revert LiquidationPaused();
        if (repayAmount == 0) revert ZeroAmount();
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
        uint256[] memory prices = new uint256[](MAX_MARKETS);
        _quoteLiquidation(v, md, mc, prices, repayAmount);

        uint256 received = _pull(debtToken, v.repaid);
        if (received < v.repaid) {
            // Fee-on-transfer debt token: seize only for what arrived.
            v.repaid = received;
            v.seized = LiquidationMath.seizeForRepayDown(received, v.pair);
            if (received == 0 || v.seized == 0) revert NothingToLiquidate(received, v.seized);
        }

        _credit(md, v.key, debtToken, v.repaid);
        _debit(mc, v.key, collToken, v.seized);
        (v.toLiquidator, v.protocolCut) =
            LiquidationMath.splitSeized(v.seized, v.pair.bonus, mc.params.protocolShare);
        mc.reserves += v.protocolCut;
        _credit(mc, v.liquidatorKey, collToken, v.toLiquidator);

        uint256 masks = _masks[v.key];
        if (masks & LOW_MASK == 0 && masks >> DEBT_SHIFT != 0) _settleBadDebt(v.key, owner, subId);
        v.healthFactorAfter = _healthFactor(_health(v.key, prices));
        _emitLiquidated(v);
        return (v.repaid, v.seized);
    }

    /// @inheritdoc IVault
    function settleBadDebt(address owner, uint8 subId) external nonReentrant {
        uint256 key = _key(owner, subId);
        uint256 masks = _masks[key];
        if (masks >> DEBT_SHIFT == 0) revert AccountHasNoDebt();
        if (masks & LOW_MASK != 0) revert AccountHasCollateral();
        _settleBadDebt(key, owner, subId);
    }

    /* VIEWS */

    /// @inheritdoc IVault
    function reentrancyLocked() external view returns (bool) {
        return _reentrancyGuardEntered();
    }

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
        return _accountState(_key(owner, subId), new uint256[](MAX_MARKETS));
    }

    /// @inheritdoc IVault
    function accountStates(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (AccountState[] memory states)
    {
        if (owners.length != subIds.length) revert LengthMismatch(owners.length, subIds.length);
        uint256[] memory prices = new uint256[](MAX_MARKETS);
        states = new AccountState[](owners.length);
        for (uint256 i; i < owners.length; ++i) {
            states[i] = _accountState(_key(owners[i], subIds[i]), prices);
        }
    }

    /// @inheritdoc IVault
    function liquidatable(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (bool[] memory result)
    {
        if (owners.length != subIds.length) revert LengthMismatch(owners.length, subIds.length);
        uint256[] memory prices = new uint256[](MAX_MARKETS);
        result = new bool[](owners.length);
        for (uint256 i; i < owners.length; ++i) {
            uint256 key = _key(owners[i], subIds[i]);
            if (_masks[key] >> DEBT_SHIFT == 0) continue; // no debt: never liquidatable, needs no price
            Health memory h = _health(key, prices);
            result[i] = h.collMaint < h.debtMaint;
        }
    }

    /* INTERNAL: ACTIONS */

    function _withdraw(address owner, uint8 subId, address token, uint256 amount, address receiver)
        internal
        returns (uint256)
    {
        if (withdrawPaused) revert WithdrawPaused();
        if (receiver == address(0)) revert ZeroAddress();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 key = _key(owner, subId);
        uint256 held = _depositOf(m, key, token);
        if (amount == type(uint256).max) amount = held;
        if (amount == 0) revert ZeroAmount();
        if (amount > held) revert InsufficientDeposit(held, amount);

        _debit(m, key, token, amount);
        _requireLiquidity(m);
        // Without debt no price is needed: withdraw-all stays live with a broken oracle (I19).
        if (_masks[key] >> DEBT_SHIFT != 0) _requireHealthy(key);
        emit Withdraw(msg.sender, owner, subId, token, amount, receiver, _scaled[key][token]);
        IERC20(token).safeTransfer(receiver, amount);
        return amount;
    }

    function _borrow(address owner, uint8 subId, address token, uint256 amount, address receiver) internal {
        if (borrowPaused) revert BorrowPaused();
        if (receiver == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 fromDeposit;
        int256 scaledAfter;
        {
            Market storage m = _listed(token);
            _accrue(m, token);
            uint256 key = _key(owner, subId);
            uint256 borrowed;
            (fromDeposit, borrowed) = _debit(m, key, token, amount);
            if (borrowed > 0) _requireBelowBorrowCap(m);
            _requireLiquidity(m);
            _requireHealthy(key);
            scaledAfter = _scaled[key][token];
        }
        emit Borrow(msg.sender, owner, subId, token, amount, fromDeposit, receiver, scaledAfter);
        IERC20(token).safeTransfer(receiver, amount);
    }

    function _transfer(address owner, uint8 fromSubId, uint8 toSubId, address token, uint256 amount) internal {
        if (withdrawPaused) revert WithdrawPaused();
        if (fromSubId == toSubId) revert SameSubAccount();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 fromKey = _key(owner, fromSubId);
        uint256 held = _depositOf(m, fromKey, token);
        if (amount == type(uint256).max) amount = held;
        if (amount == 0) revert ZeroAmount();
        if (amount > held) revert InsufficientDeposit(held, amount);

        _debit(m, fromKey, token, amount);
        _credit(m, _key(owner, toSubId), token, amount);
        if (_masks[fromKey] >> DEBT_SHIFT != 0) _requireHealthy(fromKey);
        emit SubAccountTransfer(msg.sender, owner, fromSubId, toSubId, token, amount);
    }

    /// @dev Checks the account, prices the pair and fixes `v.repaid` and `v.seized` (before any transfer).
    function _quoteLiquidation(
        Liquidation memory v,
        Market storage md,
        Market storage mc,
        uint256[] memory prices,
        uint256 repayAmount
    ) internal view {
        Health memory h = _health(v.key, prices);
        if (h.collMaint >= h.debtMaint) revert AccountHealthy(_signedDiff(h.collMaint, h.debtMaint));
        v.healthFactorBefore = _healthFactor(h);
        int256 debtBal = _scaled[v.key][v.debtToken];
        if (debtBal >= 0) revert NoDebt(v.debtToken);
        uint256 held = _depositOf(mc, v.key, v.collToken);
        if (held == 0) revert NoCollateral(v.collToken);

        v.pair = LiquidationMath.Pair({
            priceDebt: prices[md.index],
            decimalsDebt: md.decimals,
            priceColl: prices[mc.index],
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
        uint256 dust = dustValue;
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

    /// @dev Writes off every debt of an account that holds no deposit (I13, I14).
    function _settleBadDebt(uint256 key, address owner, uint8 subId) internal {
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
            m.reserves -= covered;
            m.totalBorrowScale -= scale;
            _writeBalance(key, token, m.index, 0);
            if (socialised > 0) {
                if (m.totalDepositScale == 0) {
                    socialised = 0; // nobody left to bear it; the event shows debt > covered + socialised
                } else {
                    m.depositIndex = MarketMath.socialise(m.depositIndex, m.totalDepositScale, socialised);
                }
            }
            emit BadDebtSettled(owner, subId, token, debt, covered, socialised, m.depositIndex);
        }
    }

    /* INTERNAL: BALANCES */

    /// @dev Adds `amount` to an account: repays its `token` debt first, then deposits the rest.
    /// Scale removed from debt and added to deposits both round down.
    function _credit(Market storage m, uint256 key, address token, uint256 amount)
        internal
        returns (uint256 debtRepaid, uint256 scaleAdded)
    {
        int256 bal = _scaled[key][token];
        if (bal < 0) {
            uint256 scale = uint256(-bal);
            uint256 debt = MarketMath.debtAmountUp(scale, m.borrowIndex);
            if (amount >= debt) {
                m.totalBorrowScale -= scale;
                bal = 0;
                debtRepaid = debt;
                amount -= debt;
            } else {
                uint256 s = MarketMath.toScaleDown(amount, m.borrowIndex);
                m.totalBorrowScale -= s;
                bal += s.toInt256();
                debtRepaid = amount;
                amount = 0;
            }
        }
        if (amount > 0) {
            scaleAdded = MarketMath.toScaleDown(amount, m.depositIndex);
            m.totalDepositScale += scaleAdded;
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
                m.totalDepositScale -= scale;
                bal = 0;
                fromDeposit = held;
                amount -= held;
            } else {
                uint256 s = MarketMath.toScaleUp(amount, m.depositIndex);
                m.totalDepositScale -= s;
                bal -= s.toInt256();
                fromDeposit = amount;
                amount = 0;
            }
        }
        if (amount > 0) {
            uint256 s = MarketMath.toScaleUp(amount, m.borrowIndex);
            m.totalBorrowScale += s;
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

    /* INTERNAL: INTEREST */

    function _accrue(Market storage m, address token) internal {
        if (m.lastAccrual == block.timestamp) return;
        MarketMath.Accrual memory a = _previewAccrual(m);
        m.borrowIndex = a.borrowIndex;
        m.depositIndex = a.depositIndex;
        m.reserves += a.reserveCut;
        m.lastAccrual = uint64(block.timestamp);
        emit Accrued(token, a.borrowIndex, a.depositIndex, a.reserveCut, a.interest);
    }

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
        if (m.lastAccrual == block.timestamp) return (m.depositIndex, m.borrowIndex, m.reserves);
        MarketMath.Accrual memory a = _previewAccrual(m);
        return (a.depositIndex, a.borrowIndex, m.reserves + a.reserveCut);
    }

    /* INTERNAL: HEALTH */

    function _requireHealthy(uint256 key) internal view {
        Health memory h = _health(key, new uint256[](MAX_MARKETS));
        if (h.collInit < h.debtInit) revert AccountUnhealthy(_signedDiff(h.collInit, h.debtInit));
    }

    /// @dev Health sums over the markets the account holds. `prices` caches router answers by market
    /// index (0 = not fetched yet; the router never returns 0).
    function _health(uint256 key, uint256[] memory prices) internal view returns (Health memory h) {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            address token = _marketList[i];
            _accumulate(h, _markets[token], _scaled[key][token], _price(prices, i, token));
        }
    }

    /// @dev Adds one balance to the health sums and returns its signed underlying amount.
    function _accumulate(Health memory h, Market storage m, int256 scaled, uint256 price)
        internal
        view
        returns (int256 amount)
    {
        (uint256 depositIndex, uint256 borrowIndex,) = _accruedIndexes(m);
        amount = _underlying(scaled, depositIndex, borrowIndex);
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

    function _accountState(uint256 key, uint256[] memory prices) internal view returns (AccountState memory s) {
        uint256 masks = _masks[key];
        uint256 held = (masks | (masks >> DEBT_SHIFT)) & LOW_MASK;
        uint256 n;
        for (uint256 bits = held; bits != 0; bits &= bits - 1) ++n;
        s.tokens = new address[](n);
        s.balances = new int256[](n);
        Health memory h;
        uint256 j;
        for (uint256 i; held != 0; ++i) {
            if (held & (1 << i) == 0) continue;
            held &= ~(1 << i);
            address token = _marketList[i];
            s.tokens[j] = token;
            s.balances[j] = _accumulate(h, _markets[token], _scaled[key][token], _price(prices, i, token));
            ++j;
        }
        s.healthInit = _signedDiff(h.collInit, h.debtInit);
        s.healthMaint = _signedDiff(h.collMaint, h.debtMaint);
        s.healthFactor = _healthFactor(h);
        s.collateralValue = h.collateralValue;
        s.debtValue = h.debtValue;
    }

    function _price(uint256[] memory prices, uint256 i, address token) internal view returns (uint256 p) {
        p = prices[i];
        if (p == 0) {
            p = router.price(token);
            prices[i] = p;
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

    function _requireOwnerOrOperator(address owner) internal view {
        if (msg.sender != owner && !isOperator[owner][msg.sender]) revert NotOwnerOrOperator(owner, msg.sender);
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
