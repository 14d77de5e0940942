// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IVault} from "../interfaces/IVault.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {VaultBase} from "./VaultBase.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";
import {LiquidationMath} from "./libraries/LiquidationMath.sol";

/// @title Vault
/// @notice Pooled cross-margin lending core. See IVault for the behaviour of every function.
/// @dev The state machine; storage, health and views live in VaultBase. Order in every entry point: checks,
/// accrue, effects, event, token transfer out. Deposit, repay and liquidate pull tokens *before* their
/// effects because they credit the balance delta that actually arrived (fee-on-transfer tokens); the
/// reentrancy lock covers the window.
contract Vault is VaultBase, ReentrancyGuard {
    using SafeERC20 for IERC20;
    // SafeCast.toUint128(a + b), not (a + b).toUint128(): slither 0.11 cannot build its IR for a function
    // with the latter ("Impossible to generate IR"), and then analyses none of it.
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

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    constructor(address governor_, address guardian_, IOracleRouter router_)
        VaultBase(governor_, guardian_, router_)
    {}

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
        m.depositIndex = uint128(WAD);
        m.borrowIndex = uint128(WAD);
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
        m.reserves = uint128(reserves - amount); // below the stored uint128 value
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
    function setOperatorWithSig(Authorization calldata auth, uint8 v, bytes32 r, bytes32 s) external {
        if (block.timestamp > auth.deadline) revert SignatureExpired(auth.deadline);
        uint256 expected = nonces[auth.owner];
        if (auth.nonce != expected) revert InvalidNonce(expected, auth.nonce);
        bytes32 domain = keccak256(abi.encode(DOMAIN_TYPEHASH, block.chainid, address(this)));
        bytes32 structHash = keccak256(
            abi.encode(AUTHORIZATION_TYPEHASH, auth.owner, auth.operator, auth.approved, auth.nonce, auth.deadline)
        );
        // ECDSA.recover refuses malleable (high-s) and malformed signatures.
        address signer = ECDSA.recover(keccak256(abi.encodePacked("\x19\x01", domain, structHash)), v, r, s);
        if (signer != auth.owner) revert InvalidSignature(signer, auth.owner);
        nonces[auth.owner] = expected + 1;
        isOperator[auth.owner][auth.operator] = auth.approved;
        emit OperatorSet(auth.owner, auth.operator, auth.approved);
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
        // slither-disable-next-line incorrect-equality -- zero checks on our own computed amounts, not on a manipulable balance
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

        // slither-disable-next-line reentrancy-eth -- nonReentrant on every entry point; pull before credit so only what arrived is credited (fee-on-transfer); test_incidents_reentrancy.py
        repaid = _pull(token, amount < debt ? amount : debt);
        // slither-disable-next-line incorrect-equality -- refuses a repay that moved nothing (fee-on-transfer ate it all)
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

    /// @inheritdoc IVault
    function settleBadDebt(address owner, uint8 subId) external nonReentrant {
        uint256 key = _key(owner, subId);
        if (_masks[key] >> DEBT_SHIFT == 0) revert AccountHasNoDebt();
        if (_hasCollateral(key, _newCache())) revert AccountHasCollateral();
        _settleBadDebt(key, owner, subId);
    }

    /* VIEWS */

    /// @inheritdoc IVault
    function reentrancyLocked() external view returns (bool) {
        return _reentrancyGuardEntered();
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
                m.totalBorrowScale -= uint128(scale); // an account's scale <= the total
                bal = 0;
                debtRepaid = debt;
                amount -= debt;
            } else {
                uint256 s = MarketMath.toScaleDown(amount, m.borrowIndex);
                m.totalBorrowScale -= s.toUint128();
                bal += s.toInt256();
                debtRepaid = amount;
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

    /* INTERNAL: INTEREST */

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

    function _requireOwnerOrOperator(address owner) internal view {
        if (msg.sender != owner && !isOperator[owner][msg.sender]) revert NotOwnerOrOperator(owner, msg.sender);
    }
}
