// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IVault} from "../interfaces/IVault.sol";

/// @title VaultLens
/// @notice Everything the invariant checks (I1–I5) need, per market, in one eth_call.
contract VaultLens {
    /// @notice One market's books. Sums run over the sub-accounts passed in; the rest comes from the vault
    /// (accrued to this block) and the token (`vaultBalance`).
    struct AssetBooks {
        address token;
        uint256 sumPositiveScale;
        uint256 sumNegativeScale;
        uint256 totalDepositScale;
        uint256 totalBorrowScale;
        uint256 vaultBalance;
        uint256 totalDeposits;
        uint256 totalBorrows;
        uint256 reserves;
        uint256 depositIndex;
        uint256 borrowIndex;
        uint256 accounts;
        uint256 accountsWithDebt;
        uint256 deficit;
    }

    /// @notice `owners` and `subIds` differ in length.
    error LengthMismatch(uint256 owners, uint256 subIds);

    /// @notice Books of every market of `vault` over the sub-accounts `(owners[i], subIds[i])`.
    /// @dev `accounts` / `accountsWithDebt` count the given sub-accounts with a non-zero / negative balance;
    /// `deficit` is the market's recorded deficit (I24).
    function invariants(IVault vault, address[] calldata owners, uint8[] calldata subIds)
        external
        view
        returns (AssetBooks[] memory books)
    {
        if (owners.length != subIds.length) revert LengthMismatch(owners.length, subIds.length);
        address[] memory tokens = vault.markets();
        books = new AssetBooks[](tokens.length);
        for (uint256 t; t < tokens.length; ++t) {
            AssetBooks memory b = books[t];
            IVault.MarketState memory s = vault.marketState(tokens[t]);
            b.token = tokens[t];
            b.totalDepositScale = s.totalDepositScale;
            b.totalBorrowScale = s.totalBorrowScale;
            b.totalDeposits = s.totalDeposits;
            b.totalBorrows = s.totalBorrows;
            b.reserves = s.reserves;
            b.depositIndex = s.depositIndex;
            b.borrowIndex = s.borrowIndex;
            b.vaultBalance = IERC20(tokens[t]).balanceOf(address(vault));
            b.deficit = vault.deficit(tokens[t]);
            for (uint256 i; i < owners.length; ++i) {
                int256 bal = vault.scaledBalanceOf(owners[i], subIds[i], tokens[t]);
                if (bal > 0) {
                    b.sumPositiveScale += uint256(bal);
                    ++b.accounts;
                } else if (bal < 0) {
                    b.sumNegativeScale += uint256(-bal);
                    ++b.accounts;
                    ++b.accountsWithDebt;
                }
            }
        }
    }
}
