// Every secret value this proxy is configured with, read where the config says it lives (env var or
// file), so the scrubber can find them by value in whatever an upstream sends back (T22). Adding a
// secret to the config schema means adding it here.
import { readFileSync } from "node:fs";
import type { ProxyConfig } from "../config.js";
import { OPERATOR_TOKEN_ENV } from "../http/operator-auth.js";
import { SIGNER_ENV } from "../refunds/signer.js";
import { operatorKeyText } from "../settlement/operator-key.js";

function fileValue(path: unknown): string | undefined {
  if (typeof path !== "string") return undefined;
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined; // the component that needs the file reports it
  }
}

/** Secret lines of a NATS .creds file (the JWT and the nkey seed) or of a PEM key. */
function credsValues(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("-") && !l.startsWith("*"));
}

/** The operator's NEAR key (from a credentials JSON or a bare line), with and without its curve prefix. */
function operatorKeyValues(text: string | undefined): string[] {
  if (!text) return [];
  let key = text;
  if (text.startsWith("{")) {
    try {
      const json = JSON.parse(text) as { private_key?: unknown; secret_key?: unknown };
      key = String(json.private_key ?? json.secret_key ?? "");
    } catch {
      return [text];
    }
  }
  return key ? [key, key.replace(/^ed25519:/, "")] : [];
}

export function configuredSecrets(config: ProxyConfig, env: NodeJS.ProcessEnv): string[] {
  const out: Array<string | undefined> = [env[SIGNER_ENV], fileValue(config.refund.signer_key_file)];
  for (const p of config.providers) {
    if (p.api_key_env) out.push(env[p.api_key_env]);
    if (p.type === "0g") {
      const o = p.options ?? {};
      out.push(
        fileValue(o["private_key_file"]),
        env[typeof o["private_key_env"] === "string" ? o["private_key_env"] : "ZG_PRIVATE_KEY"],
      );
    }
  }
  out.push(fileValue(config.nats.nkey_seed_file), ...credsValues(fileValue(config.nats.creds_file)));
  out.push(...credsValues(fileValue(config.nats.tls.key_file)));
  out.push(...operatorKeyValues(operatorKeyText(env, config.settle.operator_key_file)));
  out.push(env[OPERATOR_TOKEN_ENV]?.trim(), fileValue(config.operator.token_file));
  return out.filter((v): v is string => typeof v === "string" && v.length > 0);
}
