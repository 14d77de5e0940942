// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {IVault} from "../interfaces/IVault.sol";
import {IVaultLiquidation} from "../interfaces/IVaultLiquidation.sol";
import {IVaultGovernance} from "../interfaces/IVaultGovernance.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IInterestRateModel} from "../interfaces/IInterestRateModel.sol";
import {VaultCore} from "./VaultCore.sol";
import {IVaultModule} from "../interfaces/IVaultModule.sol";
import {WadMath} from "./libraries/WadMath.sol";
import {MarketMath} from "./libraries/MarketMath.sol";

/// @title Vault
/// @notice Pooled cross-margin lending core. See IVault for the behaviour of every function.
/// @dev The entry point: user actions and views run here; governance and liquidation run in two modules
/// (`VaultGovernance`, `VaultLiquidation`), deployed beforehand and checked by this constructor
/// (`IVaultModule.moduleIdentity`), that the matching entry points delegatecall, so they execute in this
/// contract's storage with the caller's `msg.sender`. The split keeps each code object under EIP-170's 24,576
/// bytes, and deploying the modules separately keeps the vault's creation code under EIP-3860's 49,152 bytes;
/// storage and the internals all three share live in VaultCore. Order in every entry point: checks, accrue, effects, event, token transfer out. Deposit and
/// repay pull tokens *before* their effects because they credit the balance delta that actually arrived
/// (fee-on-transfer tokens); the reentrancy lock covers the window.
contract Vault is VaultCore, IVault {
    using SafeERC20 for IERC20;
    // SafeCast.toUint128(a + b), not (a + b).toUint128(): slither 0.11 cannot build its IR for a function
    // with the latter ("Impossible to generate IR"), and then analyses none of it.
    using SafeCast for uint256;
    using WadMath for uint256;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(uint256 chainId,address verifyingContract)");
    bytes32 internal constant AUTHORIZATION_TYPEHASH =
        keccak256("Authorization(address owner,address operator,bool approved,uint256 nonce,uint256 deadline)");

    /// @inheritdoc IVault
    address public immutable liquidationModule;
    /// @inheritdoc IVault
    address public immutable governanceModule;

    /// @param liquidationModule_ A `VaultLiquidation` built with `router_`; `governanceModule_` likewise a
    /// `VaultGovernance`. Anything else reverts `ModuleNotContract` (no code) or `WrongModule`.
    constructor(
        address governor_,
        address guardian_,
        IOracleRouter router_,
        address liquidationModule_,
        address governanceModule_
    ) VaultCore(router_) {
        if (governor_ == address(0) || address(router_) == address(0)) revert ZeroAddress();
        _checkModule(liquidationModule_, LIQUIDATION_MODULE_ID, router_);
        _checkModule(governanceModule_, GOVERNANCE_MODULE_ID, router_);
        _governor = governor_;
        _guardian = guardian_;
        liquidationModule = liquidationModule_;
        governanceModule = governanceModule_;
        emit GovernorSet(address(0), governor_);
        emit GuardianSet(address(0), guardian_);
    }

    /* GOVERNANCE (served by the governance module) */

    // The stubs below forward their calldata verbatim (`_delegate`), so their parameters are never read here: they
    // are named in comments, and in the ABI of IVault / IVaultGovernance / IVaultLiquidation (build/interfaces/).

    /// @inheritdoc IVaultGovernance
    function listMarket(address /* token */, MarketParams calldata /* p */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setMarketParams(address /* token */, MarketParams calldata /* p */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationPolicy(LiquidationPolicy /* policy */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationParams(LiquidationParams calldata /* params */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setDustMinimums(uint256 /* minDebtLeftValue */, uint256 /* minCollateralLeftValue */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setGovernor(address /* newGovernor */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function acceptGovernance() external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationGracePeriod(uint256 /* period */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setGuardian(address /* newGuardian */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function setPaused(bool /* borrow */, bool /* withdraw */, bool /* liquidate */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function withdrawReserves(address /* token */, uint256 /* amount */, address /* to */) external {
        _delegate(governanceModule);
    }

    /// @inheritdoc IVaultGovernance
    function coverDeficit(address /* token */, uint256 /* amount */, bool /* fromReserves */) external {
        _delegate(governanceModule);
    }

    /* INTEREST */

    /// @inheritdoc IVault
    function accrue(address token) external nonReentrant {
        _accrue(_listed(token), token);
    }

    /* ACCOUNT ACTIONS */

    /// @inheritdoc IVault
    function setOperator(address operator, bool approved) external {
        _isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
    }

    /// @inheritdoc IVault
    function setOperatorWithSig(Authorization calldata auth, uint8 v, bytes32 r, bytes32 s) external {
        if (block.timestamp > auth.deadline) revert SignatureExpired(auth.deadline);
        uint256 expected = _nonces[auth.owner];
        if (auth.nonce != expected) revert InvalidNonce(expected, auth.nonce);
        bytes32 domain = keccak256(abi.encode(DOMAIN_TYPEHASH, block.chainid, address(this)));
        bytes32 structHash = keccak256(
            abi.encode(AUTHORIZATION_TYPEHASH, auth.owner, auth.operator, auth.approved, auth.nonce, auth.deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        // The owner's key first (a key holder pays no EXTCODESIZE); only if it did not sign, an owner with code is
        // asked as an ERC-1271 wallet. tryRecover refuses malleable (high-s) and malformed signatures.
        // slither-disable-next-line unused-return -- the error's argument: a failed key check is re-run below
        (address signer, ECDSA.RecoverError recovered,) = ECDSA.tryRecover(digest, v, r, s);
        if (recovered != ECDSA.RecoverError.NoError || signer != auth.owner) {
            // A key: ECDSA.recover reverts with OpenZeppelin's own error for a malleable or malformed signature.
            if (auth.owner.code.length == 0) revert InvalidSignature(ECDSA.recover(digest, v, r, s), auth.owner);
            if (!_validWalletSignature(auth.owner, digest, abi.encodePacked(r, s, v))) {
                revert InvalidSignature(address(0), auth.owner);
            }
        }
        _nonces[auth.owner] = expected + 1;
        _isOperator[auth.owner][auth.operator] = auth.approved;
        emit OperatorSet(auth.owner, auth.operator, auth.approved);
    }

    /// @inheritdoc IVault
    function invalidateNonce() external returns (uint256 used) {
        used = _nonces[msg.sender];
        _nonces[msg.sender] = used + 1;
        emit NonceUsed(msg.sender, used);
    }

    /// @inheritdoc IVault
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        // DOMAIN_TYPEHASH has chainId (bit 2) and verifyingContract (bit 3) only.
        return (hex"0c", "", "", block.chainid, address(this), bytes32(0), new uint256[](0));
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
        uint256 key = _key(owner, subId);
        // Nobody but the owner or its operator adds a market (and so its feed) to a sub-account (I25).
        if (msg.sender != owner && _masks[key] & ((1 | (1 << DEBT_SHIFT)) << m.index) == 0) {
            _requireOwnerOrOperator(owner);
        }
        _accrue(m, token);

        // slither-disable-next-line reentrancy-eth -- nonReentrant on every entry point; pull before credit so only what arrived is credited (fee-on-transfer); test_incidents_reentrancy.py
        credited = _pull(token, amount);
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
        (uint256 burned,) = _credit(m, key, token, repaid);
        // slither-disable-next-line incorrect-equality -- refuses a repay that burned no debt scale (too small, or a fee ate it all), instead of reporting it repaid
        if (burned == 0) revert ZeroAmount();
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

    /* LIQUIDATION (served by the module) */

    /// @inheritdoc IVaultLiquidation
    function liquidate(
        address, /* owner */
        uint8, /* subId */
        address, /* debtToken */
        address, /* collToken */
        uint256, /* repayAmount */
        uint8 /* liquidatorSubId */
    ) external returns (uint256, uint256) {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IVaultLiquidation
    function absorb(address /* owner */, uint8 /* subId */) external returns (uint256, uint256) {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IVaultLiquidation
    function buyCollateral(
        address, /* collToken */
        address, /* payToken */
        uint256, /* payAmount */
        uint256, /* minCollateral */
        uint8 /* buyerSubId */
    ) external returns (uint256, uint256) {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IVaultLiquidation
    function settleBadDebt(address /* owner */, uint8 /* subId */) external {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IVaultLiquidation
    function previewLiquidation(
        address, /* owner */
        uint8, /* subId */
        address, /* debtToken */
        address, /* collToken */
        uint256 /* repayAmount */
    ) external view returns (LiquidationPreview memory) {
        _delegateView(liquidationModule);
    }

    /* VIEWS */

    /// @inheritdoc IVault
    function governor() external view returns (address) {
        return _governor;
    }

    /// @inheritdoc IVault
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IVault
    function pendingGovernor() external view returns (address) {
        return _pendingGovernor;
    }

    /// @inheritdoc IVault
    function liquidationGracePeriod() external view returns (uint256) {
        return _liquidationGracePeriod;
    }

    /// @inheritdoc IVault
    function liquidationGraceUntil() external view returns (uint256) {
        return _liquidationGraceUntil;
    }

    /// @inheritdoc IVault
    function router() external view returns (IOracleRouter) {
        return _router;
    }

    /// @inheritdoc IVault
    function liquidationPolicy() external view returns (LiquidationPolicy) {
        return _policy;
    }

    /// @inheritdoc IVault
    function liquidationParams() external view returns (LiquidationParams memory) {
        return _liqParams;
    }

    /// @inheritdoc IVault
    function minDebtLeftValue() external view returns (uint256) {
        return _minDebtLeftValue;
    }

    /// @inheritdoc IVault
    function minCollateralLeftValue() external view returns (uint256) {
        return _minCollateralLeftValue;
    }

    /// @inheritdoc IVault
    function borrowPaused() external view returns (bool) {
        return _borrowPaused;
    }

    /// @inheritdoc IVault
    function withdrawPaused() external view returns (bool) {
        return _withdrawPaused;
    }

    /// @inheritdoc IVault
    function liquidatePaused() external view returns (bool) {
        return _liquidatePaused;
    }

    /// @inheritdoc IVault
    function isOperator(address owner, address operator) external view returns (bool) {
        return _isOperator[owner][operator];
    }

    /// @inheritdoc IVault
    function nonces(address owner) external view returns (uint256) {
        return _nonces[owner];
    }

    /// @inheritdoc IVault
    function reentrancyLocked() external view returns (bool) {
        return _reentrancyGuardEntered();
    }

    /// @inheritdoc IVault
    function markets() external view returns (address[] memory) {
        return _marketList;
    }

    /// @inheritdoc IVault
    function deficit(address token) external view returns (uint256) {
        return _listed(token).deficit;
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
        return _accountState(_key(owner, subId), _newCache(), true);
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
            uint256 key = _key(owners[i], subIds[i]);
            states[i] = _accountState(key, cache, _priced(key, cache));
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
            if (!_priced(key, cache)) continue; // unpriceable: `liquidate` would refuse it too (I25)
            Health memory h = _health(key, cache);
            result[i] = h.collMaint < h.debtMaint;
        }
    }

    /// @inheritdoc IVault
    function maxBorrow(address owner, uint8 subId, address token) external view returns (uint256) {
        Market storage m = _listed(token);
        if (_borrowPaused || _withdrawPaused) return 0;
        return _maxTake(m, _key(owner, subId), token, type(uint256).max, true);
    }

    /// @inheritdoc IVault
    function maxWithdraw(address owner, uint8 subId, address token) external view returns (uint256) {
        Market storage m = _listed(token);
        if (_withdrawPaused) return 0;
        uint256 key = _key(owner, subId);
        int256 bal = _scaled[key][token];
        if (bal <= 0) return 0;
        (uint256 depositIndex,,) = _accruedIndexes(m);
        // Without debt no price is read, as `withdraw` reads none (I19).
        return _maxTake(m, key, token, MarketMath.depositAmountDown(uint256(bal), depositIndex),
            _masks[key] >> DEBT_SHIFT != 0);
    }

    /* INTERNAL: ACTIONS */

    function _withdraw(address owner, uint8 subId, address token, uint256 amount, address receiver)
        internal
        returns (uint256)
    {
        if (_withdrawPaused) revert WithdrawPaused();
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
        if (_borrowPaused) revert BorrowPaused();
        // A borrow takes tokens out as a withdrawal does (same slot as the borrow flag: no extra load).
        if (_withdrawPaused) revert WithdrawPaused();
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
        if (_withdrawPaused) revert WithdrawPaused();
        if (fromSubId == toSubId) revert SameSubAccount();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 fromKey = _key(owner, fromSubId);
        uint256 held = _depositOf(m, fromKey, token);
        if (amount == type(uint256).max) amount = held;
        if (amount == 0) revert ZeroAmount();
        if (amount > held) revert InsufficientDeposit(held, amount);

        _debit(m, fromKey, token, amount);
        (uint256 repaid, uint256 added) = _credit(m, _key(owner, toSubId), token, amount);
        // slither-disable-next-line incorrect-equality -- the destination got nothing: below one scale unit of its debt
        if (repaid == 0 && added == 0) revert ZeroAmount();
        if (_masks[fromKey] >> DEBT_SHIFT != 0) _requireHealthy(fromKey);
        emit SubAccountTransfer(msg.sender, owner, fromSubId, toSubId, token, amount);
    }

    /* INTERNAL: CHECKS AND VIEWS */

    function _requireBelowBorrowCap(Market storage m) internal view {
        uint256 cap = m.params.borrowCap;
        uint256 total = _totalBorrows(m);
        if (cap != 0 && total > cap) revert BorrowCapExceeded(total, cap);
    }

    /// @dev Liquidity leaves the pool only while deposits still cover borrows and the deficit (I3, I24): the
    /// deficit is deposits no token backs, so it counts as lent out. What is left is the cash above the reserves.
    function _requireLiquidity(Market storage m) internal view {
        uint256 deposits = _totalDeposits(m);
        uint256 borrows = _totalBorrows(m);
        if (m.hasDeficit) borrows += m.deficit;
        if (borrows > deposits) revert InsufficientLiquidity(deposits, borrows);
    }

    /// @dev Without `priced` (a held market's price cannot be read) only the tokens are filled and the state
    /// says `unpriced`: a batch view reports the account instead of reverting for every other.
    function _accountState(uint256 key, Cache memory cache, bool priced)
        internal
        view
        returns (AccountState memory s)
    {
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
            if (priced) s.balances[j] = _accumulateHeld(h, key, cache, i, token);
            ++j;
        }
        if (!priced) {
            s.unpriced = true;
            return s;
        }
        s.healthInit = _signedDiff(h.collInit, h.debtInit);
        s.healthMaint = _signedDiff(h.collMaint, h.debtMaint);
        s.healthFactor = _healthFactor(h);
        s.collateralValue = h.collateralValue;
        s.debtValue = h.debtValue;
    }

    /// @dev `_accumulate` of the balance `key` holds in market `i` (keeps `_accountState`'s stack shallow).
    function _accumulateHeld(Health memory h, uint256 key, Cache memory cache, uint256 i, address token)
        internal
        view
        returns (int256)
    {
        return _accumulate(h, _markets[token], _scaled[key][token], cache, i, token);
    }

    /// @dev What `_debit` of a candidate amount would leave, for `maxBorrow` / `maxWithdraw` (see `_takes`).
    struct Take {
        address token;
        uint256 key;
        uint256 index;
        int256 scaled;
        uint256 depositIndex;
        uint256 borrowIndex;
        uint256 borrowCap;
        uint256 deficit;
        bool checkHealth;
        Health others; // health sums over the account's other markets
        Cache cache;
    }

    /// @dev The largest amount up to min(`limit`, the vault's token balance) that `_takes` allows. Every check
    /// there only tightens as the amount grows (scale, debt and values round monotonically), so a bisection over
    /// the checks themselves finds the exact boundary of the vault's own arithmetic, rounding included.
    function _maxTake(Market storage m, uint256 key, address token, uint256 limit, bool checkHealth)
        internal
        view
        returns (uint256)
    {
        uint256 cash = IERC20(token).balanceOf(address(this));
        uint256 hi = limit < cash ? limit : cash;
        // slither-disable-next-line uninitialized-local -- filled field by field below
        Take memory t;
        t.token = token;
        t.key = key;
        t.index = m.index;
        t.scaled = _scaled[key][token];
        (t.depositIndex, t.borrowIndex,) = _accruedIndexes(m);
        t.borrowCap = m.params.borrowCap;
        t.deficit = m.deficit;
        t.checkHealth = checkHealth;
        t.cache = _newCache();
        if (checkHealth) t.others = _healthWith(key, t.cache, t.index, 0, MAX_MARKETS, 0);
        if (_takes(t, m, hi)) return hi;
        uint256 lo; // _takes(t, m, 0) holds: nothing taken changes nothing
        while (hi - lo > 1) {
            uint256 mid = lo + (hi - lo) / 2;
            if (_takes(t, m, mid)) lo = mid;
            else hi = mid;
        }
        return lo;
    }

    /// @dev Whether `_borrow` / `_withdraw` of `amount` would pass their checks after `_debit`: the pool's
    /// liquidity, the borrow cap when new debt is opened, and (if `t.checkHealth`) health_init >= 0, computed as
    /// `_debit`, `_requireLiquidity`, `_requireBelowBorrowCap` and `_requireHealthy` compute them.
    function _takes(Take memory t, Market storage m, uint256 amount) internal view returns (bool) {
        int256 bal = t.scaled;
        uint256 depositScale = m.totalDepositScale;
        uint256 borrowScale = m.totalBorrowScale;
        uint256 rest = amount;
        if (bal > 0) {
            uint256 held = MarketMath.depositAmountDown(uint256(bal), t.depositIndex);
            if (amount >= held) {
                depositScale -= uint256(bal);
                rest = amount - held;
                bal = 0;
            } else {
                uint256 s = MarketMath.toScaleUp(amount, t.depositIndex);
                depositScale -= s;
                bal -= s.toInt256();
                rest = 0;
            }
        }
        if (rest > 0) {
            uint256 s = MarketMath.toScaleUp(rest, t.borrowIndex);
            borrowScale += s;
            bal -= s.toInt256();
        }
        uint256 borrows = MarketMath.debtAmountUp(borrowScale, t.borrowIndex);
        if (borrows + t.deficit > MarketMath.depositAmountDown(depositScale, t.depositIndex)) return false;
        if (rest > 0 && t.borrowCap != 0 && borrows > t.borrowCap) return false;
        if (!t.checkHealth) return true;
        Health memory h = Health(t.others.collateralValue, t.others.debtValue, t.others.collInit, t.others.collMaint,
            t.others.debtInit, t.others.debtMaint);
        _accumulate(h, m, bal, t.cache, t.index, t.token);
        return h.collInit >= h.debtInit;
    }

    /// @dev Runs the calldata in `module`, in this contract's storage, and returns (or reverts with) exactly
    /// what the module returned. Never returns to its caller.
    function _delegate(address module) internal {
        // slither-disable-next-line assembly -- a verbatim delegatecall forward to a module checked at construction
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    /// @dev `_delegate` for a view served by a module: the module's function is itself a view, so the
    /// delegatecall writes nothing (under STATICCALL, the EVM enforces it). Solidity has no view delegatecall;
    /// the pointer cast only tells the compiler what the module's code guarantees.
    function _delegateView(address module) internal view {
        function(address) internal delegateFn = _delegate;
        function(address) internal view viewFn;
        // slither-disable-next-line assembly -- retypes an internal function pointer, nothing else
        assembly {
            viewFn := delegateFn
        }
        viewFn(module);
    }

    /// @dev ERC-1271: whether `wallet.isValidSignature(digest, signature)` returned the magic value. A wallet
    /// that reverts, returns anything else or returns too little is a refusal, never a revert of its own. The
    /// call gets all the gas: a wallet that burns it only costs whoever submits its own owner's signature.
    function _validWalletSignature(address wallet, bytes32 digest, bytes memory signature)
        internal
        view
        returns (bool)
    {
        (bool ok, bytes memory ret) =
            wallet.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
        return ok && ret.length >= 32 && abi.decode(ret, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }

    /// @dev Refuses a module address without code (`ModuleNotContract`), or whose `moduleIdentity` is not
    /// (`id`, `router_`) or cannot be read (`WrongModule`).
    function _checkModule(address module, bytes32 id, IOracleRouter router_) private view {
        if (module.code.length == 0) revert ModuleNotContract(module);
        (bool ok, bytes memory ret) = module.staticcall(abi.encodeCall(IVaultModule.moduleIdentity, ()));
        if (!ok || ret.length != 64) revert WrongModule(module);
        (bytes32 got, IOracleRouter router_got) = abi.decode(ret, (bytes32, IOracleRouter));
        if (got != id || router_got != router_) revert WrongModule(module);
    }

    function _requireOwnerOrOperator(address owner) internal view {
        if (msg.sender != owner && !_isOperator[owner][msg.sender]) revert NotOwnerOrOperator(owner, msg.sender);
    }
}
