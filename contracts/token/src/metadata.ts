// NEP-148 metadata. The default icon is a tiny inline SVG data URL (NEP-148 asks for data URLs so
// that wallets never fetch third-party images).
import type { FtMetadata } from "./state";
import { need } from "./util";

export const DEFAULT_ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='15' fill='%2310a37f'/%3E%3Cpath d='M9 12h14M9 16h10M9 20h7' stroke='%23fff' stroke-width='2.5' stroke-linecap='round'/%3E%3C/svg%3E";

export function validMetadata(input: unknown): FtMetadata {
  const m = (input ?? {}) as Partial<FtMetadata>;
  const spec = m.spec ?? "ft-1.0.0";
  need(spec === "ft-1.0.0", 'metadata.spec must be "ft-1.0.0"');
  need(typeof m.name === "string" && m.name.length > 0, "metadata.name is required");
  need(typeof m.symbol === "string" && m.symbol.length > 0, "metadata.symbol is required");
  const decimals = m.decimals ?? 24;
  need(Number.isInteger(decimals) && decimals >= 0 && decimals <= 38, "metadata.decimals must be 0..38");
  const icon = m.icon ?? DEFAULT_ICON;
  need(
    icon === null || (typeof icon === "string" && icon.startsWith("data:")),
    "metadata.icon must be a data URL",
  );
  need(
    (m.reference ?? null) === null || m.reference_hash != null,
    "metadata.reference_hash is required with metadata.reference",
  );
  return {
    spec,
    name: m.name,
    symbol: m.symbol,
    icon,
    reference: m.reference ?? null,
    reference_hash: m.reference_hash ?? null,
    decimals,
  };
}
