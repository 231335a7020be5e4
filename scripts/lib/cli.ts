// The house CLI plumbing (commander entry files call `run`): an error that says what went wrong and
// what to do next, printed as `error:` / `next:` with a non-zero exit code, never a stack trace.

/** A CLI-facing error: `message` says what went wrong, `hint` what to do next. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Runs a script body; prints errors (turned into CliErrors by `explain`) with a hint and exits non-zero. */
export async function run(
  body: () => Promise<void>,
  explain: (e: unknown) => CliError = asCliError,
): Promise<void> {
  try {
    await body();
  } catch (e) {
    const err = explain(e);
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`next: ${err.hint}\n`);
    process.exitCode = 1;
  }
}

export function asCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  const msg = ((e as Error)?.message ?? String(e)).split("\n")[0] ?? "";
  return new CliError(msg.length > 300 ? `${msg.slice(0, 300)}…` : msg);
}
