// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IERC20, IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title MiniVault
/// @notice A small isolated-margin lending vault, the teaching example of docs/protocols/your-own-protocol.md.
/// Lenders supply one asset at a time for shares of its market. A position (owner, id) holds one collateral asset
/// and one debt asset. It may borrow up to the collateral's `ltv`; once its debt value exceeds the collateral value
/// times the collateral's `liquidationThreshold`, anyone may repay any part of the debt for collateral worth the
/// repaid value × (1 + `liquidationBonus`). Debt accrues interest every second at a kinked rate of its market's
/// utilisation. Bad debt is left as debt: a liquidation that takes the last collateral leaves what is still owed on
/// the position (`BadDebtLeft`); nothing is written off, lenders keep the claim. Prices come from Chainlink-style
/// feeds, refused when stale or not positive; USD values are WAD (1e18 = $1). Every division rounds in the vault's
/// favour: what it owes or pays out rounds down, what it is owed or paid in rounds up.
contract MiniVault {
    using SafeERC20 for IERC20;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant SECONDS_PER_YEAR = 365 days;

    /// @notice A market's settings: WAD fractions, rates per year; fixed at deployment.
    struct Config {
        AggregatorV3Interface feed;
        uint256 heartbeat; // seconds a price stays usable
        uint256 ltv; // borrow limit, as a share of the collateral's value
        uint256 liquidationThreshold; // liquidatable once the debt's value exceeds this share
        uint256 liquidationBonus; // seized collateral = repaid value × (1 + bonus)
        uint256 baseRate;
        uint256 slope1; // added from 0 to `kink` utilisation
        uint256 slope2; // added from `kink` to full utilisation
        uint256 kink;
    }

    struct Market {
        Config config;
        uint256 unit; // 10 ** token decimals
        uint256 feedUnit; // 10 ** feed decimals
        uint256 totalSupplyAssets;
        uint256 totalSupplyShares;
        uint256 totalBorrowAssets;
        uint256 totalBorrowShares;
        uint256 lastAccrual;
    }

    struct Position {
        address collateralToken;
        uint256 collateral;
        address debtToken;
        uint256 borrowShares;
    }

    /// @notice A position valued now. `borrowLimit` and `liquidationLimit` are the collateral value times `ltv`
    /// and `liquidationThreshold`; `healthFactor` = liquidationLimit / debtValue, type(uint256).max without debt.
    struct PositionView {
        address collateralToken;
        uint256 collateral;
        address debtToken;
        uint256 debt;
        uint256 collateralValue;
        uint256 debtValue;
        uint256 borrowLimit;
        uint256 liquidationLimit;
        uint256 healthFactor;
    }

    event MarketListed(address indexed token, Config config);
    event Accrued(address indexed token, uint256 interest, uint256 borrowRate);
    event Supplied(address indexed lender, address indexed token, uint256 assets, uint256 shares);
    event SupplyWithdrawn(address indexed lender, address indexed token, uint256 assets, uint256 shares, address to);
    event CollateralDeposited(address indexed payer, address indexed owner, uint256 id, address token, uint256 assets);
    event CollateralWithdrawn(address indexed owner, uint256 id, address token, uint256 assets, address to);
    event Borrowed(address indexed owner, uint256 id, address token, uint256 assets, uint256 shares, address to);
    event Repaid(address indexed payer, address indexed owner, uint256 id, address token, uint256 assets, uint256 shares);
    event Liquidated(address indexed liquidator, address indexed owner, uint256 id, address debtToken,
        address collateralToken, uint256 repaid, uint256 seized, uint256 healthFactorBefore, uint256 healthFactorAfter);
    event BadDebtLeft(address indexed owner, uint256 id, address debtToken, uint256 debt);

    error InvalidConfig(address token);
    error UnknownMarket(address token);
    error StalePrice(address token, uint256 updatedAt, uint256 heartbeat);
    error InvalidPrice(address token, int256 answer);
    error ZeroAmount();
    error ExceedsBalance(uint256 held, uint256 asked);
    error AssetMismatch(address held, address given);
    error InsufficientLiquidity(address token, uint256 available, uint256 asked);
    error BorrowLimitExceeded(uint256 debtValue, uint256 borrowLimit);
    error PositionHealthy(uint256 healthFactor);

    mapping(address token => Market) public markets;
    address[] public marketList;
    mapping(address owner => mapping(uint256 id => Position)) public positions;
    mapping(address lender => mapping(address token => uint256 shares)) public supplyShares;

    /// @notice List each of `tokens` with its `configs` entry, once and for all (no admin). Decimals are read from
    /// the token and from its feed (at most 18).
    constructor(address[] memory tokens, Config[] memory configs) {
        for (uint256 i; i < tokens.length; ++i) {
            (address token, Config memory config) = (tokens[i], configs[i]);
            uint8 feedDecimals = config.feed.decimals();
            if (markets[token].unit != 0 || config.ltv > config.liquidationThreshold || feedDecimals > 18
                || config.liquidationThreshold * (WAD + config.liquidationBonus) > WAD * WAD || config.kink == 0
                || config.kink >= WAD) revert InvalidConfig(token);
            Market storage m = markets[token];
            (m.config, m.unit, m.feedUnit) = (config, 10 ** IERC20Metadata(token).decimals(), 10 ** feedDecimals);
            m.lastAccrual = block.timestamp;
            marketList.push(token);
            emit MarketListed(token, config);
        }
    }

    /* LENDERS */

    /// @notice Supply `assets` of `token` for `lender`, paid by the caller, for shares rounded down.
    function supply(address lender, address token, uint256 assets) external {
        Market storage m = _accrue(token);
        if (assets == 0) revert ZeroAmount();
        uint256 shares = m.totalSupplyShares == 0 ? assets : assets * m.totalSupplyShares / m.totalSupplyAssets;
        (m.totalSupplyAssets, m.totalSupplyShares) = (m.totalSupplyAssets + assets, m.totalSupplyShares + shares);
        supplyShares[lender][token] += shares;
        emit Supplied(lender, token, assets, shares);
        IERC20(token).safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @notice Withdraw `assets` of the caller's supply of `token` to `to` (type(uint256).max: all of it) for
    /// shares rounded up; only what borrowers have not taken can leave.
    function withdrawSupply(address token, uint256 assets, address to) external {
        Market storage m = _accrue(token);
        uint256 held = supplyShares[msg.sender][token];
        if (assets == type(uint256).max) assets = held == 0 ? 0 : held * m.totalSupplyAssets / m.totalSupplyShares;
        if (assets == 0) revert ZeroAmount();
        uint256 available = m.totalSupplyAssets - m.totalBorrowAssets;
        if (assets > available) revert InsufficientLiquidity(token, available, assets);
        uint256 shares = Math.mulDiv(assets, m.totalSupplyShares, m.totalSupplyAssets, Math.Rounding.Ceil);
        if (shares > held) revert ExceedsBalance(held, shares);
        supplyShares[msg.sender][token] = held - shares;
        (m.totalSupplyAssets, m.totalSupplyShares) = (m.totalSupplyAssets - assets, m.totalSupplyShares - shares);
        emit SupplyWithdrawn(msg.sender, token, assets, shares, to);
        IERC20(token).safeTransfer(to, assets);
    }

    /* POSITIONS */

    /// @notice Add `assets` of `token` to the collateral of position (`owner`, `id`), paid by the caller. A
    /// position's collateral asset is set by its first deposit, for good.
    function depositCollateral(address owner, uint256 id, address token, uint256 assets) external {
        if (markets[token].unit == 0) revert UnknownMarket(token);
        if (assets == 0) revert ZeroAmount();
        Position storage p = positions[owner][id];
        if (p.collateralToken == address(0) && p.debtToken != token) p.collateralToken = token;
        if (p.collateralToken != token) revert AssetMismatch(p.collateralToken, token);
        p.collateral += assets;
        emit CollateralDeposited(msg.sender, owner, id, token, assets);
        IERC20(token).safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @notice Withdraw `assets` of `token`, the collateral of the caller's position `id`, to `to`
    /// (type(uint256).max: all of it); the debt must stay within the borrow limit.
    function withdrawCollateral(uint256 id, address token, uint256 assets, address to) external {
        Position storage p = positions[msg.sender][id];
        if (p.collateralToken != token) revert AssetMismatch(p.collateralToken, token);
        if (assets == type(uint256).max) assets = p.collateral;
        if (assets == 0) revert ZeroAmount();
        if (assets > p.collateral) revert ExceedsBalance(p.collateral, assets);
        if (p.borrowShares > 0) _accrue(p.debtToken);
        p.collateral -= assets;
        _checkBorrowLimit(p);
        emit CollateralWithdrawn(msg.sender, id, token, assets, to);
        IERC20(token).safeTransfer(to, assets);
    }

    /// @notice Borrow `assets` of `token` against the caller's position `id`, paid to `to`, for debt shares
    /// rounded up; the debt must stay within the borrow limit. The first borrow sets the debt asset, for good.
    function borrow(uint256 id, address token, uint256 assets, address to) external {
        Market storage m = _accrue(token);
        if (assets == 0) revert ZeroAmount();
        Position storage p = positions[msg.sender][id];
        if (p.debtToken == address(0) && p.collateralToken != token) p.debtToken = token;
        if (p.debtToken != token) revert AssetMismatch(p.debtToken, token);
        uint256 available = m.totalSupplyAssets - m.totalBorrowAssets;
        if (assets > available) revert InsufficientLiquidity(token, available, assets);
        uint256 shares = m.totalBorrowShares == 0 ? assets
            : Math.mulDiv(assets, m.totalBorrowShares, m.totalBorrowAssets, Math.Rounding.Ceil);
        (m.totalBorrowAssets, m.totalBorrowShares) = (m.totalBorrowAssets + assets, m.totalBorrowShares + shares);
        p.borrowShares += shares;
        _checkBorrowLimit(p);
        emit Borrowed(msg.sender, id, token, assets, shares, to);
        IERC20(token).safeTransfer(to, assets);
    }

    /// @notice Repay `assets` of `token`, the debt of position (`owner`, `id`), paid by the caller
    /// (type(uint256).max or more than the debt: all of it); burns debt shares rounded down.
    function repay(address owner, uint256 id, address token, uint256 assets) external {
        Position storage p = positions[owner][id];
        if (p.borrowShares == 0 || p.debtToken != token) revert AssetMismatch(p.debtToken, token);
        Market storage m = _accrue(token);
        uint256 debt = _debtOf(p, m);
        uint256 shares = assets >= debt ? p.borrowShares : assets * m.totalBorrowShares / m.totalBorrowAssets;
        assets = Math.min(assets, debt);
        if (assets == 0) revert ZeroAmount();
        _burnDebt(p, m, assets, shares);
        emit Repaid(msg.sender, owner, id, token, assets, shares);
        IERC20(token).safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @notice Liquidate position (`owner`, `id`) once its health factor is below 1: repay up to `maxRepay` of its
    /// debt (type(uint256).max: all the collateral covers) for collateral worth the repaid value × (1 + bonus),
    /// rounded down; when that is more than the collateral, all of it for the debt it covers, rounded up.
    function liquidate(address owner, uint256 id, address debtToken, address collateralToken, uint256 maxRepay)
        external
    {
        Position storage p = positions[owner][id];
        if (p.debtToken != debtToken) revert AssetMismatch(p.debtToken, debtToken);
        if (p.collateralToken != collateralToken) revert AssetMismatch(p.collateralToken, collateralToken);
        Market storage m = _accrue(debtToken);
        PositionView memory before = _view(p);
        if (before.healthFactor >= WAD) revert PositionHealthy(before.healthFactor);
        (uint256 repaid, uint256 seized) = _liquidationAmounts(before, Math.min(maxRepay, before.debt));
        if (repaid == 0) revert ZeroAmount();
        uint256 shares = repaid == before.debt ? p.borrowShares : repaid * m.totalBorrowShares / m.totalBorrowAssets;
        _burnDebt(p, m, repaid, shares);
        p.collateral -= seized;
        emit Liquidated(msg.sender, owner, id, debtToken, collateralToken, repaid, seized, before.healthFactor,
            _view(p).healthFactor);
        if (p.collateral == 0 && p.borrowShares > 0) emit BadDebtLeft(owner, id, debtToken, _debtOf(p, m));
        IERC20(debtToken).safeTransferFrom(msg.sender, address(this), repaid);
        IERC20(collateralToken).safeTransfer(msg.sender, seized);
    }

    /* READS */

    /// @notice The simulator's one read per step: every asked position valued now, and every asked lender's supply
    /// of each market (in `marketList` order) with its total value. Reverts on a stale or bad price.
    function snapshot(address[] calldata owners, uint256[] calldata ids, address[] calldata lenders)
        external
        view
        returns (PositionView[] memory views, uint256[][] memory supplied, uint256[] memory suppliedValue)
    {
        views = new PositionView[](owners.length);
        for (uint256 i; i < owners.length; ++i) views[i] = _view(positions[owners[i]][ids[i]]);
        (supplied, suppliedValue) = (new uint256[][](lenders.length), new uint256[](lenders.length));
        for (uint256 i; i < lenders.length; ++i) {
            supplied[i] = new uint256[](marketList.length);
            for (uint256 j; j < marketList.length; ++j) {
                Market storage m = markets[marketList[j]];
                uint256 shares = supplyShares[lenders[i]][marketList[j]];
                if (shares == 0) continue;
                (uint256 supplyAssets,) = _accrued(m);
                supplied[i][j] = shares * supplyAssets / m.totalSupplyShares;
                suppliedValue[i] += supplied[i][j] * _price(marketList[j]) / m.unit;
            }
        }
    }

    /// @notice Every market's supply and borrow totals accrued to now, and its borrow rate per year, in
    /// `marketList` order (rows: supply assets, supply shares, borrow assets, borrow shares, rate).
    function marketStates() external view returns (uint256[5][] memory rows) {
        rows = new uint256[5][](marketList.length);
        for (uint256 j; j < marketList.length; ++j) {
            Market storage m = markets[marketList[j]];
            (uint256 supplyAssets, uint256 borrowAssets) = _accrued(m);
            rows[j] = [supplyAssets, m.totalSupplyShares, borrowAssets, m.totalBorrowShares,
                _borrowRate(m.config, supplyAssets, borrowAssets)];
        }
    }

    /// @notice The debt of position (`owner`, `id`) now, rounded up, and its asset; reads no price.
    function debtOf(address owner, uint256 id) external view returns (address token, uint256 debt) {
        Position storage p = positions[owner][id];
        return (p.debtToken, _debtOf(p, markets[p.debtToken]));
    }

    /* INTERNAL */

    /// @dev Kinked, per year: base + slope1 × u / kink up to the kink, then + slope2 × (u − kink) / (1 − kink).
    function _borrowRate(Config storage c, uint256 supplyAssets, uint256 borrowAssets) internal view returns (uint256) {
        uint256 u = supplyAssets == 0 ? 0 : borrowAssets * WAD / supplyAssets;
        if (u <= c.kink) return c.baseRate + c.slope1 * u / c.kink;
        return c.baseRate + c.slope1 + c.slope2 * (u - c.kink) / (WAD - c.kink);
    }

    /// @dev The totals with the interest since the last accrual, rounded up (borrowers owe it).
    function _accrued(Market storage m) internal view returns (uint256 supplyAssets, uint256 borrowAssets) {
        uint256 rate = _borrowRate(m.config, m.totalSupplyAssets, m.totalBorrowAssets);
        uint256 interest = Math.mulDiv(m.totalBorrowAssets, rate * (block.timestamp - m.lastAccrual),
            WAD * SECONDS_PER_YEAR, Math.Rounding.Ceil);
        return (m.totalSupplyAssets + interest, m.totalBorrowAssets + interest);
    }

    function _accrue(address token) internal returns (Market storage m) {
        m = markets[token];
        if (m.unit == 0) revert UnknownMarket(token);
        if (block.timestamp == m.lastAccrual) return m;
        uint256 rate = _borrowRate(m.config, m.totalSupplyAssets, m.totalBorrowAssets);
        (uint256 supplyAssets, uint256 borrowAssets) = _accrued(m);
        emit Accrued(token, borrowAssets - m.totalBorrowAssets, rate);
        (m.totalSupplyAssets, m.totalBorrowAssets, m.lastAccrual) = (supplyAssets, borrowAssets, block.timestamp);
    }

    /// @dev The feed's answer as USD per whole token (WAD), refused when not positive or older than the heartbeat.
    function _price(address token) internal view returns (uint256) {
        Config storage c = markets[token].config;
        (, int256 answer,, uint256 updatedAt,) = c.feed.latestRoundData();
        if (answer <= 0) revert InvalidPrice(token, answer);
        if (block.timestamp > updatedAt + c.heartbeat) revert StalePrice(token, updatedAt, c.heartbeat);
        return uint256(answer) * (WAD / markets[token].feedUnit);
    }

    function _debtOf(Position storage p, Market storage m) internal view returns (uint256) {
        if (p.borrowShares == 0) return 0;
        (, uint256 borrowAssets) = _accrued(m);
        return Math.mulDiv(p.borrowShares, borrowAssets, m.totalBorrowShares, Math.Rounding.Ceil);
    }

    /// @dev A position at the feeds' prices, collateral rounded down and debt up; no price read for what it lacks.
    function _view(Position storage p) internal view returns (PositionView memory v) {
        (v.collateralToken, v.collateral, v.debtToken) = (p.collateralToken, p.collateral, p.debtToken);
        v.healthFactor = type(uint256).max;
        if (v.collateral > 0) {
            Market storage c = markets[v.collateralToken];
            v.collateralValue = v.collateral * _price(v.collateralToken) / c.unit;
            v.borrowLimit = v.collateralValue * c.config.ltv / WAD;
            v.liquidationLimit = v.collateralValue * c.config.liquidationThreshold / WAD;
        }
        if (p.borrowShares > 0) {
            Market storage m = markets[v.debtToken];
            v.debt = _debtOf(p, m);
            v.debtValue = Math.mulDiv(v.debt, _price(v.debtToken), m.unit, Math.Rounding.Ceil);
            v.healthFactor = v.liquidationLimit * WAD / v.debtValue;
        }
    }

    /// @dev Collateral for `repay`: its value × (1 + bonus), rounded down; capped at the position's collateral, in
    /// which case the repayment is what that collateral covers, rounded up.
    function _liquidationAmounts(PositionView memory v, uint256 repay_) internal view returns (uint256, uint256) {
        (Market storage d, Market storage c) = (markets[v.debtToken], markets[v.collateralToken]);
        (uint256 debtPrice, uint256 collPrice) = (_price(v.debtToken), _price(v.collateralToken));
        uint256 bonus = WAD + c.config.liquidationBonus;
        uint256 seized = repay_ * debtPrice / d.unit * bonus / WAD * c.unit / collPrice;
        if (seized <= v.collateral) return (repay_, seized);
        uint256 covered = Math.mulDiv(Math.mulDiv(v.collateral, collPrice, c.unit, Math.Rounding.Ceil), WAD, bonus,
            Math.Rounding.Ceil);
        return (Math.min(Math.mulDiv(covered, d.unit, debtPrice, Math.Rounding.Ceil), v.debt), v.collateral);
    }

    function _checkBorrowLimit(Position storage p) internal view {
        if (p.borrowShares == 0) return;
        PositionView memory v = _view(p);
        if (v.debtValue > v.borrowLimit) revert BorrowLimitExceeded(v.debtValue, v.borrowLimit);
    }

    /// @dev The market's total floors at 0: it may round below the sum of the positions' rounded-up debts.
    function _burnDebt(Position storage p, Market storage m, uint256 assets, uint256 shares) internal {
        (p.borrowShares, m.totalBorrowShares) = (p.borrowShares - shares, m.totalBorrowShares - shares);
        m.totalBorrowAssets = m.totalBorrowAssets > assets ? m.totalBorrowAssets - assets : 0;
    }
}
