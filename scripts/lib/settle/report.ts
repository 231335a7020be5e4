// What `npm run settle` prints about a pass: one line per conversation it acted on (or, dry, would
// act on), then a tally. Amounts in token base units, as the ledger keeps them.
import type { PassEntry, PassReport } from "#proxy";

const short = (id: string) => id.slice(0, 12);

function line(e: PassEntry): string {
  const what = e.action.replace("_", " ").padEnd(13);
  const why = (e.reason ?? "").padEnd(7);
  switch (e.action) {
    case "settled":
      return `  ${what}${short(e.conversation_id)}  ${why}${e.refund_amount} back to the opener, ${e.operator_amount} to the operator${e.tx_hash ? `  tx ${e.tx_hash}` : ""}`;
    case "refunded":
      return `  ${what}${short(e.conversation_id)}  ${why}its opener submitted the refund first (${e.refund_amount} back); recorded`;
    case "reclaimed":
      return `  ${what}${short(e.conversation_id)}  ${why}its opener reclaimed it after expiry; what was spent is lost; recorded`;
    case "skipped":
      return `  ${what}${short(e.conversation_id)}  ${why}spent less than settle.min_spent: closed, left to its opener`;
    case "would_settle":
      return `  ${what}${short(e.conversation_id)}  ${why}${e.refund_amount} back to the opener, ${e.operator_amount} to the operator (plus what in-flight requests settle)`;
    case "would_skip":
      return `  ${what}${short(e.conversation_id)}  ${why}spent less than settle.min_spent: would be closed and left to its opener`;
    default:
      return `  ${what}${short(e.conversation_id)}  ${why}${e.error ?? ""}`;
  }
}

export function describePass(report: PassReport, contractId: string): string[] {
  const when = report.chain_time
    ? new Date(Number(BigInt(report.chain_time) / 1_000_000n)).toISOString()
    : "unknown";
  const out = [
    `${report.dry_run ? "Dry run" : "Settlement pass"} on ${contractId} (chain time ${when}): ${report.unsettled} unsettled, ${report.due} due`,
    ...report.entries.map(line),
  ];
  const counts: Record<string, number> = {};
  for (const e of report.entries) counts[e.action] = (counts[e.action] ?? 0) + 1;
  const tally = Object.entries(counts).map(([k, n]) => `${n} ${k.replace("_", " ")}`);
  out.push(
    `Done in ${((report.finished_at - report.started_at) / 1000).toFixed(1)} s: ${tally.length ? tally.join(", ") : "nothing to do"}${report.due > report.entries.length && !report.stopped ? ` (${report.due - report.entries.length} more next pass: settle.max_per_pass)` : ""}`,
  );
  return out;
}

/** Entries that did not reach a final state this pass. */
export const failures = (report: PassReport) =>
  report.entries.filter((e) => e.action === "retry" || e.action === "gone");
