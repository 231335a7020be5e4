// Job API over NATS: <prefix>.jobs.submit (payload: chat request) and <prefix>.jobs.get (payload: job
// id), both authenticated by the `Authorization` header, answered with one `result` message.
import type { Msg, Subscription } from "nats";
import type { InflightTracker } from "../inflight.js";
import { subjectsFor } from "../nats/framing.js";
import {
  conversationOf,
  jsonBody,
  type NatsHandlerContext,
  send,
  sendError,
  serve,
} from "../nats/transport.js";
import type { JobService } from "./service.js";

export function serveJobs(h: NatsHandlerContext, jobs: JobService, running: InflightTracker): Subscription[] {
  const subjects = subjectsFor(h.ctx.config.nats.subject_prefix);
  const submit = async (_: NatsHandlerContext, msg: Msg) => {
    try {
      const id = conversationOf(msg);
      h.ctx.conversations.gate(id, "nats");
      const view = await jobs.submit(id, jsonBody(msg, h.ctx.config.max_body_bytes));
      send(h.nc, msg, 202, "result", JSON.stringify(view));
      return 202;
    } catch (e) {
      return sendError(h.nc, msg, e, h.ctx);
    }
  };
  const get = async (_: NatsHandlerContext, msg: Msg) => {
    try {
      const view = await jobs.get(conversationOf(msg), new TextDecoder().decode(msg.data).trim());
      send(h.nc, msg, 200, "result", JSON.stringify(view));
      return 200;
    } catch (e) {
      return sendError(h.nc, msg, e, h.ctx);
    }
  };
  return [
    serve(h, subjects.jobSubmit, "nats:jobs.submit", submit, running),
    serve(h, subjects.jobGet, "nats:jobs.get", get, running),
  ];
}
