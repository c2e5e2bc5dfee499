// A DM request's outcome as an HTTP answer: 200 with the device's answer (its CoAP code inside),
// or 202 with the id to poll when the request waits for a sleeping queue-mode device.
import type { FastifyReply } from 'fastify';
import { resultToJson } from '../json/result-json.ts';
import type { RequestOutcome } from '../server.ts';

export function sendOutcome(reply: FastifyReply, outcome: RequestOutcome): FastifyReply {
  if (outcome.queued) {
    return reply.status(202).send({ queued: true, requestId: outcome.request.id, status: outcome.request.status, poll: `/requests/${outcome.request.id}` });
  }
  return reply.status(200).send(resultToJson(outcome.result));
}
