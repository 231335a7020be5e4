// Secret values: which ones are configured, and scrubbing them out of text (T22).
export { configuredSecrets } from "./collect.js";
export { REDACTED, Scrubber, StreamScrubber, scrubKeyFormats } from "./scrubber.js";
