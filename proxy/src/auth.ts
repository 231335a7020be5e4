// Bearer secret -> conversation id. The secret is never stored or logged; only its sha256 is.
import { conversationIdOf } from "#wire/crypto";
import { errors } from "./errors.js";

/** hex(sha256(utf8(secret))), the on-chain conversation_id (wire/ holds the one recipe). */
export function conversationIdFromSecret(secret: string): string {
  return conversationIdOf(secret);
}

/** Reads `Authorization: Bearer <secret>`; throws the OpenAI-shaped 401 when it is missing or empty. */
export function bearerSecret(header: string | undefined | null): string {
  if (!header) throw errors.missingKey();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw errors.invalidKey();
  const secret = match[1] as string;
  // Bound the input we hash; a real secret is 32 random bytes in hex or base64.
  if (secret.length < 8 || secret.length > 512) throw errors.invalidKey();
  return secret;
}
