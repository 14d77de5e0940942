// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRouter} from "./IOracleRouter.sol";
import {IVaultLiquidation} from "./IVaultLiquidation.sol";
import {IVaultGovernance} from "./IVaultGovernance.sol";

/// @title IVault
/// @notice Pooled cross-margin lending: every sub-account `(owner, subId)` holds one signed, index-scaled
/// balance per listed asset (positive = deposit, negative = debt) and everything in a sub-account backs
/// everything in it. Isolated margin is one position per sub-account.
/// @dev Types, events and errors are in IVaultBase; governance in IVaultGovernance and liquidation in
/// IVaultLiquidation, each served by a module the vault delegatecalls (see those interfaces).
interface IVault is IVaultGovernance, IVaultLiquidation {
    /* GOVERNANCE STATE */

    /// @notice The address that lists markets, sets parameters and takes reserves.
    function governor() external view returns (address);
    /// @notice The address that may pause (besides the governor), one flag per call, and never unpause.
    function guardian() external view returns (address);
    /// @notice The governor-elect of a two-step hand-over (`setGovernor` then `acceptGovernance`); zero if none.
    function pendingGovernor() external view returns (address);
    /// @notice The grace period (seconds) that an unpause of liquidations starts (default 0).
    function liquidationGracePeriod() external view returns (uint256);
    /// @notice Liquidations are refused (`LiquidationGracePeriod`) before this timestamp; 0 if never set.
    function liquidationGraceUntil() external view returns (uint256);
    /// @notice The oracle router used for every price.
    function router() external view returns (IOracleRouter);
    /// @notice How `liquidate` sizes and pays liquidations (default `CloseFactor`).
    function liquidationPolicy() external view returns (LiquidationPolicy);
    /// @notice Every policy's parameters (defaults: close factor 0.5, full close below HF 0.95, cursor 0.3,
    /// incentive cap 0.15, discount cap 0.15, target HF 1.02, store-front factor 0.5).
    function liquidationParams() external view returns (LiquidationParams memory);
    /// @notice The least debt value (USD WAD) a liquidation may leave of the repaid asset, unless 0 ($1).
    function minDebtLeftValue() external view returns (uint256);
    /// @notice The least collateral value (USD WAD) a liquidation may leave of the seized asset, unless 0 ($1).
    function minCollateralLeftValue() external view returns (uint256);
    /// @notice Whether borrowing is paused (a withdraw pause refuses borrows too, with `WithdrawPaused`).
    function borrowPaused() external view returns (bool);
    /// @notice Whether withdrawals and sub-account transfers are paused.
    function withdrawPaused() external view returns (bool);
    /// @notice Whether liquidations are paused.
    function liquidatePaused() external view returns (bool);
    /// @notice The module the liquidation entry points (IVaultLiquidation) delegatecall. Deployed before the
    /// vault and checked by its constructor (`IVaultModule.moduleIdentity`: a `VaultLiquidation` built with
    /// this vault's router); an immutable, so fixed for the life of the vault. Called directly it acts on its
    /// own empty storage and every entry point reverts.
    function liquidationModule() external view returns (address);
    /// @notice The module the governance entry points (IVaultGovernance) delegatecall; deployed and fixed
    /// likewise.
    function governanceModule() external view returns (address);

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
    /// owner's next nonce (each signature works once), `InvalidSignature` unless `auth.owner` signed it. The
    /// signature is first checked as the owner key's (ecrecover; high-s signatures are refused with
    /// OpenZeppelin's `ECDSAInvalidSignatureS`). If the key did not sign and the owner has code, it is an
    /// ERC-1271 wallet: it is asked `isValidSignature(digest, abi.encodePacked(r, s, v))` and must return
    /// 0x1626ba7e; a revert or any other answer is `InvalidSignature(address(0), owner)`.
    function setOperatorWithSig(Authorization calldata auth, uint8 v, bytes32 r, bytes32 s) external;
    /// @notice The next nonce `owner` must sign for `setOperatorWithSig`.
    function nonces(address owner) external view returns (uint256);
    /// @notice Use up the caller's next signature nonce, so that an authorization signed with it (and not yet
    /// submitted) never works; emits `NonceUsed`.
    /// @return used The nonce invalidated (the caller's next nonce is now `used + 1`).
    function invalidateNonce() external returns (uint256 used);
    /// @notice EIP-5267: the EIP-712 domain of the vault's signatures (`setOperatorWithSig`). `fields` is
    /// 0x0c: only chainId and verifyingContract (this vault) are in the domain; name, version and salt are
    /// empty and there are no extensions.
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
        );
    /// @notice Whether `operator` may act for `owner`.
    function isOperator(address owner, address operator) external view returns (bool);

    /// @notice Pay `amount` of `token` from the caller into `(owner, subId)`. The owner and its operators may
    /// deposit any market; anyone else only a market the sub-account already holds (deposit or debt), else
    /// `NotOwnerOrOperator`: a stranger cannot attach a market's feed to it (I25). A debt in `token` is repaid first. Needs no price. Fee-on-transfer tokens are credited what arrived.
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
    /// is consumed first, the rest becomes debt. Afterwards health_init >= 0. Refused while borrowing
    /// (`BorrowPaused`) or withdrawals (`WithdrawPaused`) are paused: a borrow takes tokens out as a withdrawal does.
    function borrow(uint8 subId, address token, uint256 amount, address receiver) external;
    /// @notice `borrow` for `owner`, by `owner` or its operator.
    function borrowFrom(address owner, uint8 subId, address token, uint256 amount, address receiver) external;

    /// @notice Repay up to `amount` (type(uint256).max = all) of `(owner, subId)`'s `token` debt from the
    /// caller. Anyone may repay; never pulls more than the debt; needs no price. Reverts `ZeroAmount` when
    /// what arrived is too little to burn any debt scale (it would be reported repaid and repay nothing).
    /// @return repaid The amount that arrived and was credited against the debt.
    function repay(address owner, uint8 subId, address token, uint256 amount) external returns (uint256 repaid);

    /// @notice Move `amount` (type(uint256).max = all) of the caller's `token` deposit from `fromSubId` to
    /// `toSubId` (where it repays any `token` debt first). `fromSubId` must stay health_init >= 0. Reverts
    /// `ZeroAmount` when `toSubId` would receive nothing (an amount below one scale unit of its debt). Refused
    /// while withdrawals are paused, even when it would repay debt in `toSubId` (docs/roles-and-pauses.md).
    function transfer(uint8 fromSubId, uint8 toSubId, address token, uint256 amount) external;
    /// @notice `transfer` between `owner`'s sub-accounts, by `owner` or its operator.
    function transferFrom(address owner, uint8 fromSubId, uint8 toSubId, address token, uint256 amount) external;

    /* VIEWS */

    /// @notice Whether the reentrancy lock is held (it must be free between transactions).
    function reentrancyLocked() external view returns (bool);
    /// @notice Listed markets in listing order.
    function markets() external view returns (address[] memory);
    /// @notice The risk parameters of `token`.
    function marketParams(address token) external view returns (MarketParams memory);
    /// @notice The state of `token`'s market accrued to this block.
    function marketState(address token) external view returns (MarketState memory);
    /// @notice `token`'s deficit: bad debt (token units) no depositor was left to bear, until covered.
    function deficit(address token) external view returns (uint256);
    /// @notice Signed underlying balance (accrued; deposits down, debts up) of `(owner, subId)` in `token`.
    function balanceOf(address owner, uint8 subId, address token) external view returns (int256);
    /// @notice Signed scaled balance of `(owner, subId)` in `token`.
    function scaledBalanceOf(address owner, uint8 subId, address token) external view returns (int256);
    /// @notice Full state of one sub-account. Does not revert for an empty sub-account.
    function accountState(address owner, uint8 subId) external view returns (AccountState memory);
    /// @notice `accountState` for many sub-accounts in one call. A sub-account holding a market whose price the
    /// router refuses is reported `unpriced` (balances only) instead of reverting the batch (I25).
    function accountStates(address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (AccountState[] memory);
    /// @notice The most of `token` that `(owner, subId)` can borrow now (`borrow` / `borrowFrom`): any deposit
    /// in `token` first, then new debt, so that health_init stays >= 0, the pool keeps borrows <= deposits, total
    /// borrows stay within the borrow cap, and the vault holds the tokens. Computed with the vault's own rounding
    /// (scale taken rounded up, debt valued up, deposits down): borrowing the result succeeds and one unit more
    /// does not, in the same block. 0 while borrowing or withdrawals are paused or nothing can be borrowed. Reverts
    /// `MarketNotListed`, or with an oracle's error when a market the sub-account holds has no valid price.
    /// Interest accrued in later blocks lowers the answer.
    function maxBorrow(address owner, uint8 subId, address token) external view returns (uint256);
    /// @notice The most of its `token` deposit that `(owner, subId)` can withdraw now (`withdraw` /
    /// `withdrawFrom`): at most the deposit, so that the pool keeps borrows <= deposits, the vault holds the
    /// tokens and, if the sub-account owes anything, health_init stays >= 0 (without debt no price is read).
    /// Exact as for `maxBorrow`: withdrawing the result succeeds, one unit more does not, in the same block. 0
    /// while withdrawals are paused. Reverts `MarketNotListed`, or with an oracle's error (sub-accounts with debt).
    function maxWithdraw(address owner, uint8 subId, address token) external view returns (uint256);
    /// @notice For each sub-account, whether health_maint < 0. False for a sub-account holding a market whose price
    /// the router refuses (liquidation refuses it too); such a sub-account never makes the call revert (I25).
    function liquidatable(address[] calldata owners, uint8[] calldata subIds) external view returns (bool[] memory);
}
