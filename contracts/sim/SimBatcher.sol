// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IVault} from "../../interfaces/IVault.sol";
import {IOracleRouter} from "../../interfaces/IOracleRouter.sol";
import {SettableAggregator} from "./SettableAggregator.sol";
import {SimToken} from "./SimToken.sol";

/// @title SimBatcher
/// @notice The simulator's helper: it deploys (and so owns) the test tokens and price feeds, writes every feed's
/// answer in one transaction, mints and deposits for many accounts in one transaction, and reads all
/// sub-accounts and markets in one call. Simulation only; never part of the protocol.
contract SimBatcher {
    using SafeERC20 for IERC20;

    /// @notice A token or feed was created by this batcher.
    event Created(address indexed created);
    /// @notice The owner had this batcher call `selector` on `target` (see `execute`).
    event Executed(address indexed target, bytes4 selector);

    /// @notice Only the deployer may write.
    error NotOwner(address caller);
    /// @notice Array arguments of different lengths.
    error LengthMismatch();
    /// @notice A set-up borrow whose revocation is not the same owner's revocation.
    error BadRevocation();
    /// @notice `createContract` was given creation code whose constructor reverted (or no code at all).
    error CreateFailed();

    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Deploy a plain `SimToken` that this batcher may mint. Emits `Created`.
    function createToken(string calldata name, string calldata symbol, uint8 decimals) external onlyOwner {
        emit Created(address(new SimToken(name, symbol, decimals)));
    }

    /// @notice Deploy `initCode` (creation bytecode followed by its ABI-encoded constructor arguments) with this
    /// batcher as the deployer. Used for the hostile test tokens (contracts/sim/hostile/), which let only their
    /// deployer mint: deployed here, the batcher mints their set-up balances exactly as it mints a SimToken's.
    /// Embedding their creation code (`new FeeOnTransferToken(...)`) would push this contract past the
    /// 24,576-byte limit. Emits `Created`.
    function createContract(bytes calldata initCode) external onlyOwner {
        bytes memory code = initCode;
        address created;
        // slither-disable-next-line assembly -- CREATE of caller-supplied code: Solidity has no other way
        assembly {
            created := create(0, add(code, 0x20), mload(code))
        }
        if (created == address(0)) revert CreateFailed();
        emit Created(created);
    }

    /// @notice Call `target` with `data` as this batcher, bubbling up its revert. The batcher deployed the
    /// scenario's tokens, so only it holds their admin powers: a scenario's `token_admin` step pauses, unpauses
    /// and blocklists a pausable-blocklist token through here. Emits `Executed`.
    function execute(address target, bytes calldata data) external onlyOwner {
        emit Executed(target, bytes4(data));
        // slither-disable-next-line low-level-calls -- an owner-only pass-through; the revert is bubbled up
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            // slither-disable-next-line assembly -- re-raise the callee's revert data unchanged
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function createFeed(uint8 decimals, int256 answer) external onlyOwner {
        emit Created(address(new SettableAggregator(decimals, answer)));
    }

    /// @notice One new round per feed, in order.
    function setAnswers(address[] calldata feeds, int256[] calldata answers) external onlyOwner {
        if (feeds.length != answers.length) revert LengthMismatch();
        for (uint256 i; i < feeds.length; ++i) SettableAggregator(feeds[i]).setAnswer(answers[i]);
    }

    function setRoundData(address feed, uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt,
        uint80 answeredInRound) external onlyOwner {
        SettableAggregator(feed).setRoundData(roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    /// @notice Mint `amounts[i]` of `tokens[i]` to `to[i]`.
    function mint(address[] calldata tokens, address[] calldata to, uint256[] calldata amounts) external onlyOwner {
        if (tokens.length != to.length || to.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < tokens.length; ++i) SimToken(tokens[i]).mint(to[i], amounts[i]);
    }

    /// @notice One owner's signed approval of this batcher as operator and its signed revocation.
    struct Grant {
        IVault.Authorization grant;
        Sig grantSig;
        IVault.Authorization revoke;
        Sig revokeSig;
    }

    /// @notice For each i: mint `amounts[i]` of `tokens[i]` here and deposit it into `(owners[i], subIds[i])`.
    /// The vault takes a deposit into someone else's sub-account only from its owner's operator (I25), so every
    /// owner approves this batcher by signature first (`grants`) and revokes it after; it is nobody's operator
    /// afterwards.
    function depositFor(
        IVault vault,
        address[] calldata tokens,
        address[] calldata owners,
        uint8[] calldata subIds,
        uint256[] calldata amounts,
        Grant[] calldata grants
    ) external onlyOwner {
        uint256 n = tokens.length;
        if (owners.length != n || subIds.length != n || amounts.length != n) revert LengthMismatch();
        _authorise(vault, grants, true);
        for (uint256 i; i < n; ++i) _mintAndDeposit(vault, tokens[i], owners[i], subIds[i], amounts[i]);
        _authorise(vault, grants, false);
    }

    function _authorise(IVault vault, Grant[] calldata grants, bool grant) internal {
        for (uint256 g; g < grants.length; ++g) {
            Grant calldata it = grants[g];
            if (it.revoke.owner != it.grant.owner || it.revoke.operator != it.grant.operator || it.revoke.approved) {
                revert BadRevocation();
            }
            if (grant) vault.setOperatorWithSig(it.grant, it.grantSig.v, it.grantSig.r, it.grantSig.s);
            else vault.setOperatorWithSig(it.revoke, it.revokeSig.v, it.revokeSig.r, it.revokeSig.s);
        }
    }

    function _mintAndDeposit(IVault vault, address token, address owner_, uint8 subId, uint256 amount) internal {
        SimToken(token).mint(address(this), amount);
        if (IERC20(token).allowance(address(this), address(vault)) < amount) {
            // forceApprove: a USDT-style token's approve returns nothing, which a plain IERC20 call rejects.
            IERC20(token).forceApprove(address(vault), type(uint256).max);
        }
        vault.deposit(owner_, subId, token, amount);
    }

    /// @notice An ECDSA signature, split.
    struct Sig {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice One owner's set-up borrows: signed approval of this batcher as operator, the borrows (paid to
    /// the owner, as if the owner had borrowed), then the owner's signed revocation.
    struct OwnerBorrows {
        IVault.Authorization grant;
        Sig grantSig;
        IVault.Authorization revoke;
        Sig revokeSig;
        uint8[] subIds;
        address[] tokens;
        uint256[] amounts;
    }

    /// @notice Borrow for many owners in one transaction, each authorised by the owner's own signatures
    /// (`IVault.setOperatorWithSig`); the batcher is no operator of anyone afterwards.
    function borrowFor(IVault vault, OwnerBorrows[] calldata items) external onlyOwner {
        for (uint256 i; i < items.length; ++i) {
            OwnerBorrows calldata it = items[i];
            uint256 n = it.tokens.length;
            if (it.subIds.length != n || it.amounts.length != n) revert LengthMismatch();
            vault.setOperatorWithSig(it.grant, it.grantSig.v, it.grantSig.r, it.grantSig.s);
            address owner_ = it.grant.owner;
            if (it.revoke.owner != owner_ || it.revoke.operator != it.grant.operator || it.revoke.approved) {
                revert BadRevocation();
            }
            for (uint256 k; k < n; ++k) vault.borrowFrom(owner_, it.subIds[k], it.tokens[k], it.amounts[k], owner_);
            vault.setOperatorWithSig(it.revoke, it.revokeSig.v, it.revokeSig.r, it.revokeSig.s);
        }
    }

    /// @notice Every sub-account's state and every market's state in one call. `ok` is false (with the revert
    /// data in `err` and no account states) when the vault cannot value the sub-accounts, e.g. a faulted feed.
    function snapshot(IVault vault, address[] calldata owners, uint8[] calldata subIds, address[] calldata tokens)
        external
        view
        returns (bool ok, bytes memory err, bytes memory accounts, IVault.MarketState[] memory markets)
    {
        // `accounts` packs each sub-account as 32-byte words: n, then n × (index in `tokens`, balance), then
        // healthInit, healthMaint, healthFactor, collateralValue, debtValue, unpriced (1: a held market has no
        // price the router accepts; the health words are then 0). Decoding nested ABI structs for
        // thousands of sub-accounts cost the simulator more than the node took to compute them.
        if (owners.length > 0) {
            try vault.accountStates(owners, subIds) returns (IVault.AccountState[] memory states) {
                accounts = _pack(states, tokens);
                ok = true;
            } catch (bytes memory data) {
                err = data;
            }
        } else {
            ok = true;
        }
        markets = new IVault.MarketState[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) markets[i] = vault.marketState(tokens[i]);
    }

    /// @notice What the simulator's mirror needs to value every sub-account itself, in one call: every market's
    /// state (indexes accrued to this block) and parameters, each market's router price or the router's revert data, and the
    /// signed scaled balances of the given sub-accounts (`scaled[i * tokens.length + t]`). Reads only; the
    /// valuation is the vault's formula applied off-chain, checked against `snapshot` (see marginlab/mirror.py).
    function mirror(IVault vault, address[] calldata owners, uint8[] calldata subIds, address[] calldata tokens)
        external
        view
        returns (
            IVault.MarketState[] memory markets,
            IVault.MarketParams[] memory params,
            uint256[] memory prices,
            bytes[] memory priceErrors,
            int256[] memory scaled
        )
    {
        if (owners.length != subIds.length) revert LengthMismatch();
        uint256 m = tokens.length;
        IOracleRouter router = vault.router();
        markets = new IVault.MarketState[](m);
        params = new IVault.MarketParams[](m);
        prices = new uint256[](m);
        priceErrors = new bytes[](m);
        for (uint256 t; t < m; ++t) {
            markets[t] = vault.marketState(tokens[t]);
            params[t] = vault.marketParams(tokens[t]);
            try router.price(tokens[t]) returns (uint256 p) {
                prices[t] = p;
            } catch (bytes memory data) {
                priceErrors[t] = data;
            }
        }
        scaled = _scaledBalances(vault, owners, subIds, tokens);
    }

    function _scaledBalances(IVault vault, address[] calldata owners, uint8[] calldata subIds,
        address[] calldata tokens) internal view returns (int256[] memory scaled) {
        uint256 m = tokens.length;
        scaled = new int256[](owners.length * m);
        for (uint256 i; i < owners.length; ++i) {
            for (uint256 t; t < m; ++t) scaled[i * m + t] = vault.scaledBalanceOf(owners[i], subIds[i], tokens[t]);
        }
    }

    function _pack(IVault.AccountState[] memory states, address[] calldata tokens)
        internal
        pure
        returns (bytes memory out)
    {
        uint256 words;
        for (uint256 i; i < states.length; ++i) words += 7 + 2 * states[i].tokens.length;
        int256[] memory w = new int256[](words);
        uint256 k;
        for (uint256 i; i < states.length; ++i) {
            IVault.AccountState memory st = states[i];
            w[k++] = int256(st.tokens.length);
            for (uint256 t; t < st.tokens.length; ++t) {
                uint256 j;
                while (j < tokens.length && tokens[j] != st.tokens[t]) ++j;
                w[k++] = int256(j);
                w[k++] = st.balances[t];
            }
            w[k++] = st.healthInit;
            w[k++] = st.healthMaint;
            w[k++] = int256(st.healthFactor); // type(uint256).max reads back as -1
            w[k++] = int256(st.collateralValue);
            w[k++] = int256(st.debtValue);
            w[k++] = st.unpriced ? int256(1) : int256(0);
        }
        out = abi.encodePacked(w);
    }
}
