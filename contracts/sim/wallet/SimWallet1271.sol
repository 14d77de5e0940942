// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title SimWallet1271
/// @notice A small contract wallet for tests: one owner key, which sends its calls (`execute`) and signs for it
/// (ERC-1271 `isValidSignature`: a 65-byte ECDSA signature of the hash by the owner key). `setMode` makes it
/// misbehave on purpose (answer a wrong value, or revert) so that tests can show a verifier refuses those.
contract SimWallet1271 is IERC1271 {
    /// @notice How `isValidSignature` answers: checks the owner's signature, always a wrong value, or reverts.
    enum Mode {
        Honest,
        WrongValue,
        Reverts
    }

    /// @notice The key that controls and signs for this wallet.
    address public immutable owner;
    /// @notice How `isValidSignature` answers (Honest by default).
    Mode public mode;

    /// @notice `mode` changed.
    event ModeSet(Mode mode);
    /// @notice The owner made the wallet call `target` with `data`.
    event Executed(address indexed target, bytes data);

    /// @notice The caller is not the owner key.
    error NotOwner(address caller);
    /// @notice `isValidSignature` in `Mode.Reverts`.
    error WalletRefuses();
    /// @notice The call `execute` made reverted; its revert data is forwarded.
    error CallFailed(bytes reason);

    constructor(address owner_) {
        owner = owner_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Set how `isValidSignature` answers. Owner only.
    function setMode(Mode mode_) external onlyOwner {
        mode = mode_;
        emit ModeSet(mode_);
    }

    /// @notice Call `target` with `data` as this wallet. Owner only; reverts `CallFailed` if the call does.
    function execute(address target, bytes calldata data) external onlyOwner returns (bytes memory result) {
        bool ok;
        // slither-disable-next-line low-level-calls -- a wallet's generic call, owner only
        (ok, result) = target.call(data);
        if (!ok) revert CallFailed(result);
        emit Executed(target, data);
    }

    /// @notice ERC-1271: 0x1626ba7e when `signature` is the owner key's ECDSA signature of `hash` (Honest mode).
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (mode == Mode.Reverts) revert WalletRefuses();
        if (mode == Mode.WrongValue) return 0xffffffff;
        (address signer, ECDSA.RecoverError error_,) = ECDSA.tryRecover(hash, signature);
        if (error_ == ECDSA.RecoverError.NoError && signer == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}
