// The header's account area and the Tokens card: who is signed in, balances, registration, price.
import { formatAmount, NEAR_DECIMALS } from "../amount.js";
import type { ContractConfig } from "../contract.js";
import { account, nearText, state, tokens } from "../state.js";
import { byTestId as $, h, show } from "./dom.js";

export function renderAccount(): void {
  const acct = account();
  const dev = state.wallet?.kind === "dev";
  const select = $<HTMLSelectElement>("dev-account-select");
  if (dev && select.options.length === 0) {
    for (const id of state.wallet!.availableAccounts()) select.append(h("option", { value: id }, id));
  }
  show(select, !acct && dev && select.options.length > 0);
  show($("sign-in"), !acct && !!state.wallet);
  show($("account-id"), !!acct);
  $("account-id").textContent = acct ?? "";
  show($("sign-out"), !!acct);
  show($("signed-out-hint"), !acct);
  show($("token-balance"), !!acct);
  for (const id of ["buy", "start", "register", "new-conversation", "export-keys", "import-keys"]) {
    $<HTMLButtonElement>(id).disabled = !acct;
  }
  $("symbol").textContent = state.meta.symbol;
  if (!acct) {
    $("token-balance-card").textContent = "–";
    $("near-balance").textContent = "–";
  }
}

export function renderBalances(balance: bigint, near: bigint | null, storageCost: bigint | null): void {
  $("token-balance").textContent = tokens(balance);
  $("token-balance-card").textContent = tokens(balance);
  $("near-balance").textContent = near === null ? "–" : nearText(near);
  show($("storage-needed"), storageCost !== null);
  if (storageCost !== null) $("storage-cost").textContent = formatAmount(storageCost, NEAR_DECIMALS);
  $<HTMLButtonElement>("buy").disabled = storageCost !== null;
  $<HTMLButtonElement>("start").disabled = storageCost !== null || balance === 0n;
}

export function renderPrice(c: ContractConfig | null): void {
  const price = c?.token_price ? BigInt(c.token_price) : 0n;
  const el = $("price");
  if (!c) el.textContent = "";
  else if (price === 0n) el.textContent = "The token sale is closed on this deployment.";
  else {
    // token_price is yocto per smallest unit, so one whole token costs price × 10^decimals yocto.
    const perToken = price * 10n ** BigInt(state.meta.decimals);
    el.textContent = `1 ${state.meta.symbol} = ${formatAmount(perToken, NEAR_DECIMALS)} NEAR`;
  }
}
