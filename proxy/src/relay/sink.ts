// Where an HTTP SSE stream goes. On @hono/node-server the bytes are written straight to the Node
// ServerResponse: no web ReadableStream, and no read-ahead in the adapter (which waits on a
// setTimeout when a streamed body is not immediately complete: >= 1 ms per request). A route hands
// its NodeSink to the request's own reply slot (server.ts puts one in every request's bindings);
// server.ts attaches it once Hono's middleware has produced the final headers. Without a slot
// (tests calling app.fetch) the stream is a web Response body.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

export interface Sink {
  write(chunk: string | Uint8Array): void;
  end(): void;
}

const encoder = new TextEncoder();

/** A web ReadableStream body; writes after the client cancelled are dropped. */
export function webSink(): { sink: Sink; body: ReadableStream<Uint8Array> } {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let gone = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      gone = true;
    },
  });
  return {
    body,
    sink: {
      write(chunk) {
        if (gone || !controller) return;
        try {
          controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
        } catch {
          gone = true;
        }
      },
      end() {
        if (gone || !controller) return;
        gone = true;
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      },
    },
  };
}

/**
 * Writes to a ServerResponse once `attach` gives it the final headers (after every middleware, e.g.
 * CORS, has run); what the pump produced before that is held and written first. Headers go out with
 * the first chunk, in one packet. A client that went away turns writes into no-ops.
 */
export class NodeSink implements Sink {
  #res: ServerResponse | undefined;
  #held: Array<string | Uint8Array> = [];
  #ended = false;
  #gone = false;
  #corked = false;

  attach(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
    this.#res = res;
    res.on("close", () => {
      if (!res.writableFinished) this.#gone = true;
    });
    res.on("error", () => {
      this.#gone = true;
    });
    res.writeHead(status, headers);
    const held = this.#held;
    this.#held = [];
    const ended = this.#ended;
    this.#ended = false;
    for (const chunk of held) this.write(chunk);
    if (ended) this.end();
  }

  write(chunk: string | Uint8Array): void {
    if (this.#gone || this.#ended) return;
    const res = this.#res;
    if (!res) {
      this.#held.push(chunk);
      return;
    }
    if (res.destroyed) {
      this.#gone = true;
      return;
    }
    // Writes made while this event-loop turn handles ready upstream reads leave in one syscall /
    // one TCP segment: cork now, uncork in the check phase (after I/O, before any timer).
    if (!this.#corked) {
      this.#corked = true;
      res.cork();
      setImmediate(this.#uncork);
    }
    res.write(chunk);
  }

  readonly #uncork = () => {
    this.#corked = false;
    this.#res?.uncork();
  };

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#res && !this.#gone && !this.#res.destroyed) this.#res.end();
  }
}

/** Per request, from server.ts: a route that writes its stream directly leaves its sink here. */
export interface DirectReplySlot {
  sink?: NodeSink;
}
