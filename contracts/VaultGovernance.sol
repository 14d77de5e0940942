// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IVaultGovernance} from "../interfaces/IVaultGovernance.sol";
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IVaultModule} from "../interfaces/IVaultModule.sol";
import {VaultCore} from "./VaultCore.sol";

/// @title VaultGovernance
/// @notice The vault's governance module: listing, parameters, roles, pauses and reserves. See
/// IVaultGovernance.
/// @dev Runs only by delegatecall from the `Vault` it was given to, in the vault's storage (it derives from
/// `VaultCore` alone, so the layout is the vault's slot for slot). Called directly it sees its own empty
/// storage, where the governor is the zero address, so every entry point reverts `NotGovernor` (or
/// `NotGuardian`). The module exists to keep the vault under EIP-170's 24,576 bytes.
contract VaultGovernance is VaultCore, IVaultGovernance, IVaultModule {
    using SafeERC20 for IERC20;

    /// @dev Bounds of the liquidation parameters (IVaultBase.LiquidationParams): a Fixed incentive of at most
    /// 25 %, a Dutch discount of at most 20 % (an incentive of 25 %), a Dutch target health factor from 1.01
    /// (the margin absorbs the rounding of the balances the liquidation moves, a few token units, so the
    /// account ends healthy) to 1.5, and dust minimums of at most $1,000 -- larger ones would let governance
    /// lift the close factor for every position a few times that size (Aave 3.3 uses $1,000 and $2,000).
    uint64 internal constant MAX_INCENTIVE = 0.25e18;
    uint64 internal constant MAX_DISCOUNT = 0.2e18;
    uint64 internal constant MIN_TARGET_HEALTH_FACTOR = 1.01e18;
    uint64 internal constant MAX_TARGET_HEALTH_FACTOR = 1.5e18;
    uint256 internal constant MAX_DUST_VALUE = 1_000e18;
    /// @dev At most 4 hours of refused liquidations after an unpause: enough for owners to react, short
    /// enough that prices cannot drift far while debt grows unliquidated.
    uint256 internal constant MAX_LIQUIDATION_GRACE_PERIOD = 4 hours;

    modifier onlyGovernor() {
        _requireGovernor();
        _;
    }

    constructor(IOracleRouter router_) VaultCore(router_) {}

    /// @inheritdoc IVaultModule
    function moduleIdentity() external view returns (bytes32 id, IOracleRouter router) {
        return (GOVERNANCE_MODULE_ID, _router);
    }

    /* GOVERNANCE */

    /// @inheritdoc IVaultGovernance
    function listMarket(address token, MarketParams calldata p) external onlyGovernor {
        if (token == address(0)) revert ZeroAddress();
        Market storage m = _markets[token];
        if (m.listed) revert MarketAlreadyListed(token);
        uint256 n = _marketList.length;
        if (n >= MAX_MARKETS) revert TooManyMarkets(MAX_MARKETS);
        if (!_router.hasFeed(token)) revert MissingFeed(token);
        uint8 dec = IERC20Metadata(token).decimals();
        if (dec > MAX_DECIMALS) revert DecimalsOutOfRange(dec);
        _validateParams(p, dec);

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

    /// @inheritdoc IVaultGovernance
    function setMarketParams(address token, MarketParams calldata p) external onlyGovernor {
        Market storage m = _listed(token);
        _validateParams(p, m.decimals);
        // Interest up to now is owed at the old rate model and reserve factor.
        _accrue(m, token);
        m.params = p;
        emit MarketParamsSet(token, p);
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationPolicy(LiquidationPolicy policy) external onlyGovernor {
        emit LiquidationPolicySet(_policy, policy);
        _policy = policy;
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationParams(LiquidationParams calldata p) external onlyGovernor {
        if (p.closeFactor == 0 || p.closeFactor > WAD) revert CloseFactorOutOfRange(p.closeFactor);
        if (p.fullCloseHealthFactor > WAD) revert FullCloseHealthFactorOutOfRange(p.fullCloseHealthFactor);
        if (p.incentiveCursor > WAD) revert IncentiveCursorOutOfRange(p.incentiveCursor);
        if (p.maxIncentive > MAX_INCENTIVE) revert MaxIncentiveOutOfRange(p.maxIncentive, MAX_INCENTIVE);
        if (p.maxDiscount > MAX_DISCOUNT) revert MaxDiscountOutOfRange(p.maxDiscount, MAX_DISCOUNT);
        if (p.targetHealthFactor < MIN_TARGET_HEALTH_FACTOR || p.targetHealthFactor > MAX_TARGET_HEALTH_FACTOR) {
            revert TargetHealthFactorOutOfRange(p.targetHealthFactor);
        }
        if (p.storeFrontFactor > WAD) revert StoreFrontFactorOutOfRange(p.storeFrontFactor);
        _liqParams = p;
        emit LiquidationParamsSet(p);
    }

    /// @inheritdoc IVaultGovernance
    function setDustMinimums(uint256 minDebtLeftValue, uint256 minCollateralLeftValue) external onlyGovernor {
        if (minDebtLeftValue > MAX_DUST_VALUE) revert DustValueTooHigh(minDebtLeftValue, MAX_DUST_VALUE);
        if (minCollateralLeftValue > MAX_DUST_VALUE) revert DustValueTooHigh(minCollateralLeftValue, MAX_DUST_VALUE);
        _minDebtLeftValue = uint128(minDebtLeftValue); // <= MAX_DUST_VALUE
        _minCollateralLeftValue = uint128(minCollateralLeftValue);
        emit DustMinimumsSet(minDebtLeftValue, minCollateralLeftValue);
    }

    /// @inheritdoc IVaultGovernance
    function setGovernor(address newGovernor) external onlyGovernor {
        if (newGovernor == address(0)) revert ZeroAddress();
        _pendingGovernor = newGovernor;
        emit GovernorProposed(msg.sender, newGovernor);
    }

    /// @inheritdoc IVaultGovernance
    function acceptGovernance() external {
        address pending = _pendingGovernor;
        if (msg.sender != pending) revert NotPendingGovernor(msg.sender);
        emit GovernorSet(_governor, pending);
        _governor = pending;
        _pendingGovernor = address(0);
    }

    /// @inheritdoc IVaultGovernance
    function setGuardian(address newGuardian) external onlyGovernor {
        emit GuardianSet(_guardian, newGuardian);
        _guardian = newGuardian;
    }

    /// @inheritdoc IVaultGovernance
    function setPaused(bool borrow_, bool withdraw_, bool liquidate_) external {
        bool wasLiquidatePaused = _liquidatePaused;
        if (msg.sender != _governor) {
            if (msg.sender != _guardian) revert NotGuardian(msg.sender);
            // The guardian only pauses, one flag per call: a compromised guardian can stop things, never
            // restart them, and each of its calls is one visible decision.
            if ((_borrowPaused && !borrow_) || (_withdrawPaused && !withdraw_) || (wasLiquidatePaused && !liquidate_)) {
                revert GuardianCannotUnpause(msg.sender);
            }
            uint256 changed = (_borrowPaused != borrow_ ? 1 : 0) + (_withdrawPaused != withdraw_ ? 1 : 0)
                + (wasLiquidatePaused != liquidate_ ? 1 : 0);
            if (changed != 1) revert GuardianPausesOneFlag(changed);
        }
        if (wasLiquidatePaused && !liquidate_) {
            uint256 period = _liquidationGracePeriod;
            if (period != 0) {
                uint256 until = block.timestamp + period;
                _liquidationGraceUntil = uint48(until); // a timestamp plus at most 4 hours fits 48 bits
                emit LiquidationGraceStarted(until);
            }
        }
        _borrowPaused = borrow_;
        _withdrawPaused = withdraw_;
        _liquidatePaused = liquidate_;
        emit PauseSet(msg.sender, borrow_, withdraw_, liquidate_);
    }

    /// @inheritdoc IVaultGovernance
    function setLiquidationGracePeriod(uint256 period) external onlyGovernor {
        if (period > MAX_LIQUIDATION_GRACE_PERIOD) revert GracePeriodTooLong(period, MAX_LIQUIDATION_GRACE_PERIOD);
        emit LiquidationGracePeriodSet(_liquidationGracePeriod, period);
        _liquidationGracePeriod = uint32(period); // <= 4 hours
    }

    /// @inheritdoc IVaultGovernance
    function withdrawReserves(address token, uint256 amount, address to) external onlyGovernor nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Market storage m = _listed(token);
        _accrue(m, token);
        uint256 reserves = m.reserves;
        if (amount > reserves) revert InsufficientReserves(reserves, amount);
        m.reserves = uint128(reserves - amount); // below the stored uint128 value
        // Reserves that are lent out (borrows above deposits) stay until repaid; so do those standing in for a
        // deficit (deposits no token backs, I24) until `coverDeficit`: the transfer below never outruns the cash.
        uint256 available = _totalDeposits(m) + m.reserves;
        uint256 borrows = _totalBorrows(m) + m.deficit;
        if (borrows > available) revert InsufficientLiquidity(available, borrows);
        emit ReservesWithdrawn(token, amount, to);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @inheritdoc IVaultGovernance
    function coverDeficit(address token, uint256 amount, bool fromReserves) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Market storage m = _listed(token);
        uint256 owed = m.deficit;
        if (amount > owed) revert AmountAboveDeficit(owed, amount);
        if (fromReserves) {
            _requireGovernor();
            _accrue(m, token);
            uint256 reserves = m.reserves;
            if (amount > reserves) revert InsufficientReserves(reserves, amount);
            m.reserves = uint128(reserves - amount); // amount <= reserves
        } else {
            // slither-disable-next-line reentrancy-no-eth -- nonReentrant on every entry point; pull first so only what arrived covers (fee-on-transfer)
            amount = _pull(token, amount);
            if (amount > owed) amount = owed; // a token that delivers more than sent covers no more than owed
        }
        m.deficit = uint128(owed - amount); // amount <= deficit
        m.hasDeficit = owed != amount;
        emit DeficitCovered(msg.sender, token, amount, fromReserves, owed - amount);
    }

    /* INTERNAL */

    /// @dev The bounds every market's parameters keep (IVaultBase.MarketParams), at `decimals`.
    function _validateParams(MarketParams calldata p, uint8 decimals) internal view {
        if (p.irm == address(0)) revert ZeroAddress();
        // A rate model without code would make every accrual of a market with borrows revert.
        if (p.irm.code.length == 0) revert RateModelNotContract(p.irm);
        // The books store scale in 128 bits: at the floor deposit index a token unit is 1e6 scale, so the caps must
        // stay within MAX_BOOK_AMOUNT, and a market without a supply cap must hold a million whole tokens there
        // (up to 26 decimals: 1e6 x 1e26 <= MAX_BOOK_AMOUNT ~3.4e32 < 1e6 x 1e27).
        if (p.supplyCap == 0 && decimals > MAX_UNCAPPED_DECIMALS) revert CapTooLarge(0, MAX_BOOK_AMOUNT);
        if (p.supplyCap > MAX_BOOK_AMOUNT) revert CapTooLarge(p.supplyCap, MAX_BOOK_AMOUNT);
        if (p.borrowCap > MAX_BOOK_AMOUNT) revert CapTooLarge(p.borrowCap, MAX_BOOK_AMOUNT);
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
    }
}
