// Only used to resolve Hardhat's defaults for the in-process local 0G chain (scripts/0g/lib/chain.ts);
// nothing is compiled here: the 0G contracts come precompiled from the SDK's typechain factories.
module.exports = { solidity: "0.8.22", networks: { hardhat: { chainId: 31337 } } };
