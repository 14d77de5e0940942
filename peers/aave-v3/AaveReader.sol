// SPDX-License-Identifier: MIT
pragma solidity 0.8.24;

/// @dev The few Aave v3 views the reader calls, declared here so that no Aave source is compiled in.
/// @dev Aave v3.0.x `DataTypes.ReserveData`, field for field (a static tuple: the ABI encoding is the same).
struct AaveReserveData {
    uint256 configuration;
    uint128 liquidityIndex;
    uint128 currentLiquidityRate;
    uint128 variableBorrowIndex;
    uint128 currentVariableBorrowRate;
    uint128 currentStableBorrowRate;
    uint40 lastUpdateTimestamp;
    uint16 id;
    address aTokenAddress;
    address stableDebtTokenAddress;
    address variableDebtTokenAddress;
    address interestRateStrategyAddress;
    uint128 accruedToTreasury;
    uint128 unbacked;
    uint128 isolationModeTotalDebt;
}

interface IAavePoolView {
    function getReserveData(address asset) external view returns (AaveReserveData memory);
    function getUserAccountData(address user) external view returns (uint256, uint256, uint256, uint256, uint256,
        uint256);
    function getUserConfiguration(address user) external view returns (uint256);
    function getReserveNormalizedIncome(address asset) external view returns (uint256);
    function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);
}

interface IAaveOracleView {
    function getAssetPrice(address asset) external view returns (uint256);
}

interface IBalanceView {
    function balanceOf(address user) external view returns (uint256);
    function totalSupply() external view returns (uint256);
}

/// @title AaveReader
/// @notice The simulator's batch view of an Aave v3 pool: every reserve's indexes as of now, totals, price (or the
/// oracle's revert data) and every asked user's `getUserAccountData`, collateral/borrowing bitmap and per-reserve
/// supply and debt, in one `eth_call`. Simulation only: a view nothing trusts.
contract AaveReader {
    /// @notice A reserve as the pool and its tokens see it now (indexes as of now; rates, configuration and the
    /// treasury's unminted accrual as stored at the last update). `price` is the AaveOracle's answer (base currency,
    /// 8 decimals) when `priceOk`, otherwise `priceRevert` holds what the oracle reverted with.
    struct ReserveNow {
        uint256 liquidityIndex;
        uint256 variableBorrowIndex;
        uint256 aTokenSupply;
        uint256 variableDebtSupply;
        uint256 cash;
        uint256 treasuryATokens;
        uint256 accruedToTreasury;
        uint256 liquidityRate;
        uint256 variableBorrowRate;
        uint256 configuration;
        bool priceOk;
        uint256 price;
        bytes priceRevert;
    }

    /// @notice A user: `account` is `getUserAccountData` (totalCollateralBase, totalDebtBase, availableBorrowsBase,
    /// currentLiquidationThreshold, ltv, healthFactor) when `ok`, else `accountRevert` is why it reverted;
    /// `supplied[i]` and `borrowed[i]` are the aToken and variable-debt balances in reserve `i`.
    struct UserNow {
        bool ok;
        uint256[6] account;
        bytes accountRevert;
        uint256 config;
        uint256[] supplied;
        uint256[] borrowed;
    }

    /// @param tokens per reserve: underlying, aToken, variable debt token (three addresses per reserve, in order)
    function snapshot(address pool, address oracle, address treasury, address[] calldata tokens,
                      address[] calldata users)
        external
        view
        returns (uint256 timestamp, ReserveNow[] memory reserves, UserNow[] memory states)
    {
        uint256 n = tokens.length / 3;
        reserves = new ReserveNow[](n);
        for (uint256 i = 0; i < n; i++) {
            reserves[i] = _reserve(pool, oracle, treasury, tokens[3 * i], tokens[3 * i + 1], tokens[3 * i + 2]);
        }
        states = new UserNow[](users.length);
        for (uint256 u = 0; u < users.length; u++) {
            states[u] = _user(pool, tokens, users[u], n);
        }
        timestamp = block.timestamp;
    }

    function _reserve(address pool, address oracle, address treasury, address asset, address aToken,
                      address debtToken) private view returns (ReserveNow memory r) {
        IAavePoolView p = IAavePoolView(pool);
        r.liquidityIndex = p.getReserveNormalizedIncome(asset);
        r.variableBorrowIndex = p.getReserveNormalizedVariableDebt(asset);
        r.aTokenSupply = IBalanceView(aToken).totalSupply();
        r.variableDebtSupply = IBalanceView(debtToken).totalSupply();
        r.cash = IBalanceView(asset).balanceOf(aToken);
        r.treasuryATokens = IBalanceView(aToken).balanceOf(treasury);
        AaveReserveData memory data = p.getReserveData(asset);
        r.accruedToTreasury = data.accruedToTreasury;
        r.liquidityRate = data.currentLiquidityRate;
        r.variableBorrowRate = data.currentVariableBorrowRate;
        r.configuration = data.configuration;
        try IAaveOracleView(oracle).getAssetPrice(asset) returns (uint256 price) {
            r.priceOk = true;
            r.price = price;
        } catch (bytes memory reason) {
            r.priceRevert = reason;
        }
    }

    function _user(address pool, address[] calldata tokens, address user, uint256 n)
        private
        view
        returns (UserNow memory s)
    {
        try IAavePoolView(pool).getUserAccountData(user) returns (uint256 c, uint256 d, uint256 a, uint256 lt,
                                                                   uint256 ltv, uint256 hf) {
            s.ok = true;
            s.account = [c, d, a, lt, ltv, hf];
        } catch (bytes memory reason) {
            s.accountRevert = reason;
        }
        s.config = IAavePoolView(pool).getUserConfiguration(user);
        s.supplied = new uint256[](n);
        s.borrowed = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            s.supplied[i] = IBalanceView(tokens[3 * i + 1]).balanceOf(user);
            s.borrowed[i] = IBalanceView(tokens[3 * i + 2]).balanceOf(user);
        }
    }
}
