// localnet's public surface: start a node in-process, or reach into its chain from tests.
export type { Chain } from "./chain/chain.js";
export { ensureValidatorKey, type ValidatorKey } from "./genesis.js";
export { type Localnet, type LocalnetOptions, startLocalnet } from "./node.js";
