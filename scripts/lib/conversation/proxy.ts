// The few proxy routes the CLI uses, with the secret as bearer key. An unreachable proxy is its own
// error type: the command then says what the user can still do on chain.
import type { SignedRefund } from "#wire";

export class ProxyUnavailable extends Error {}

/** The proxy answered with an OpenAI-shaped error. */
export class ProxyRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ProxyUsage {
  conversation_id: string;
  deposit: string;
  reserved: string;
  spent: string;
  remaining: string;
  status: string;
  expires_at?: string;
  /** ns: when the operator's settlement ends it if it stays unused (idle, or near its expiry). */
  settle_at?: string;
  settle_reason?: "idle" | "expiry";
  /** Once the operator's settlement ended it. */
  settlement?: { status: string; refund_amount?: string; tx_hash?: string };
}

export class ProxyClient {
  /** `url` is the proxy's base, without /v1. */
  constructor(readonly url: string) {}

  get baseUrl(): string {
    return `${this.url.replace(/\/+$/, "")}/v1`;
  }

  async #request<T>(path: string, init: { secret?: string; method?: string } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method: init.method ?? "GET",
        headers: init.secret ? { authorization: `Bearer ${init.secret}` } : {},
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new ProxyUnavailable(`the proxy at ${this.url} does not answer (${cause})`);
    }
    const body = (await res.json().catch(() => null)) as T & { error?: { code?: string; message?: string } };
    if (res.status >= 500)
      throw new ProxyUnavailable(
        `the proxy at ${this.url} answered ${res.status}: ${body?.error?.message ?? ""}`,
      );
    if (!res.ok)
      throw new ProxyRefused(
        res.status,
        body?.error?.code ?? "",
        body?.error?.message ?? `HTTP ${res.status}`,
      );
    return body;
  }

  async models(): Promise<string[]> {
    const list = await this.#request<{ data: { id: string }[] }>("/models");
    return list.data.map((m) => m.id);
  }

  usage = (secret: string) => this.#request<ProxyUsage>("/conversations/current", { secret });
  refund = (secret: string) =>
    this.#request<SignedRefund>("/conversations/refund", { secret, method: "POST" });
}
