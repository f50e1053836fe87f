import { createHmac } from 'node:crypto';
import type { SocketModeHub } from '../socket-mode.ts';
import type { DeliveryResult, SignedRequestOverrides } from '../types.ts';

export type RawDelivery = Omit<DeliveryResult, 'payload' | 'triggerId' | 'responseUrl' | 'ackError'>;

export interface DeliveryTarget {
  hub: SocketModeHub;
  eventsUrl: string | undefined;
  signingSecret: string;
  ackTimeoutMs: number;
}

/** Slack's request signature: `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`). */
export function signRequest(signingSecret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Sends an interaction or slash command the way Slack would: over Socket Mode when the app has a socket
 * open, otherwise as a signed form POST to the events URL. Either way the app has `ackTimeoutMs` to answer.
 */
export async function deliver(
  target: DeliveryTarget,
  kind: 'interactive' | 'slash_commands',
  payload: Record<string, unknown>,
  acceptsResponsePayload: boolean,
  overrides: SignedRequestOverrides = {},
): Promise<RawDelivery> {
  if (target.hub.openConnections.length > 0) {
    const outcome = await target.hub.sendEnvelope(kind, payload, acceptsResponsePayload, target.ackTimeoutMs);
    return {
      mode: 'socket',
      status: outcome.acked ? 200 : 0,
      body: outcome.ackPayload === undefined ? '' : JSON.stringify(outcome.ackPayload),
      headers: {},
      elapsedMs: outcome.latencyMs,
      ok: outcome.acked,
      ...(outcome.acked ? {} : { error: 'ack_timeout' as const }),
      ...(outcome.ackPayload !== undefined ? { ackPayload: outcome.ackPayload } : {}),
      envelopeId: outcome.envelopeId,
      ...(outcome.connectionId ? { connectionId: outcome.connectionId } : {}),
    };
  }
  if (!target.eventsUrl) {
    throw new Error('Slack emulator: nowhere to deliver: no Socket Mode connection and no eventsUrl (see setEventsUrl)');
  }
  const body =
    kind === 'interactive'
      ? new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
      : new URLSearchParams(payload as Record<string, string>).toString();
  const timestamp = overrides.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    accept: 'application/json,*/*',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': overrides.signature ?? signRequest(target.signingSecret, timestamp, body),
    ...overrides.headers,
  };
  const started = performance.now();
  try {
    const response = await fetch(target.eventsUrl, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(target.ackTimeoutMs),
    });
    const text = await response.text();
    return {
      mode: 'http',
      status: response.status,
      body: text,
      headers: Object.fromEntries(response.headers.entries()),
      elapsedMs: performance.now() - started,
      ok: response.status === 200,
      ...(response.status === 200 ? {} : { error: 'http_error' as const }),
    };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return {
      mode: 'http',
      status: 0,
      body: '',
      headers: {},
      elapsedMs: performance.now() - started,
      ok: false,
      error: timedOut ? 'ack_timeout' : 'connection_failed',
    };
  }
}
