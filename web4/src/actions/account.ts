// Account actions: sign in and out, register with the token (NEP-145), buy tokens for NEAR.
import { NEAR_DECIMALS, parseAmount } from "../amount.js";
import { extractEvents, type FinalOutcome } from "../near/rpc.js";
import { account, nearText, state, tokens } from "../state.js";
import { renderAccount, renderBalances } from "../views/account.js";
import { setStatus } from "../views/banner.js";
import { byTestId as $ } from "../views/dom.js";

export const txSummary = (outcome: FinalOutcome) => `tx ${outcome.transaction.hash.slice(0, 10)}…`;

export async function refreshAccount(): Promise<void> {
  const acct = account();
  renderAccount();
  if (!acct || !state.token || !state.rpc) return;
  const [balance, near, storage] = await Promise.all([
    state.token.balanceOf(acct),
    state.rpc.nearBalance(acct).catch(() => null),
    state.token.storageBalanceOf(acct),
  ]);
  state.balance = balance;
  const storageCost = storage === null ? BigInt((await state.token.storageBounds()).min) : null;
  renderBalances(balance, near, storageCost);
}

export async function signIn(): Promise<void> {
  const select = $<HTMLSelectElement>("dev-account-select");
  await state.wallet!.signIn(state.wallet!.kind === "dev" ? select.value : undefined);
}

export async function signOut(): Promise<void> {
  await state.wallet?.signOut();
}

export async function register(): Promise<void> {
  setStatus("Registering the account with the token (storage deposit)…");
  const outcome = await state.token!.register(state.wallet!, account()!);
  setStatus(`Registered (${txSummary(outcome)}).`);
  await refreshAccount();
}

export async function buy(): Promise<void> {
  const yocto = parseAmount($<HTMLInputElement>("buy-near-amount").value, NEAR_DECIMALS);
  if (yocto <= 0n) throw new Error("Enter a NEAR amount above zero.");
  setStatus(`Buying tokens for ${nearText(yocto)}…`);
  const outcome = await state.token!.buyTokens(state.wallet!, yocto);
  const minted = extractEvents(outcome)
    .filter((e) => e.standard === "nep141" && e.event === "ft_mint")
    .flatMap((e) => (Array.isArray(e.data) ? e.data : []) as { amount?: string }[])
    .reduce((sum, d) => sum + BigInt(d.amount ?? "0"), 0n);
  setStatus(`Bought ${tokens(minted)} (${txSummary(outcome)}).`);
  await refreshAccount();
}
