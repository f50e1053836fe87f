import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { secret } from './ids.ts';

export interface SocketConnection {
  id: string;
  socket: WebSocket;
  openedAt: number;
  /** Every text frame the app sent (acks and anything else), parsed when JSON. */
  received: unknown[];
}

export interface EnvelopeOutcome {
  acked: boolean;
  envelopeId: string;
  ackPayload?: unknown;
  latencyMs: number;
  connectionId?: string;
}

interface PendingAck {
  resolve: (outcome: { payload: unknown }) => void;
}

/**
 * Slack's side of Socket Mode: single-use `ws://…/link/?ticket=…` URLs from apps.connections.open,
 * `hello` on connect, envelopes out, acks (`{envelope_id, payload?}`) back, `disconnect` on request.
 */
export class SocketModeHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Map<string, { used: boolean }>();
  private readonly pending = new Map<string, PendingAck>();
  readonly connections = new Map<string, SocketConnection>();
  private nextConnection = 0;
  private roundRobin = 0;

  constructor(
    private readonly appId: string,
    private readonly onChange: (kind: string, detail: unknown) => void,
  ) {}

  /** A fresh single-use URL, as apps.connections.open returns. */
  issueUrl(wsBase: string): string {
    const ticket = secret();
    this.tickets.set(ticket, { used: false });
    return `${wsBase}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  /** Handles an HTTP upgrade on /link/: a used or unknown ticket is refused with 401. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket') ?? '';
    const grant = this.tickets.get(ticket);
    if (!grant || grant.used) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    grant.used = true;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(socket: WebSocket): void {
    const connection: SocketConnection = { id: `conn-${++this.nextConnection}`, socket, openedAt: Date.now(), received: [] };
    this.connections.set(connection.id, connection);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // not JSON: recorded as text, never an ack
      }
      connection.received.push(message);
      if (connection.received.length > 1000) connection.received.shift();
      const envelopeId = typeof message === 'object' && message !== null ? (message as { envelope_id?: unknown }).envelope_id : undefined;
      if (typeof envelopeId === 'string') {
        this.pending.get(envelopeId)?.resolve({ payload: (message as { payload?: unknown }).payload });
      }
    });
    socket.on('close', () => {
      this.connections.delete(connection.id);
      this.onChange('socket_closed', { id: connection.id });
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.size,
        debug_info: { host: 'slack-emulator', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.onChange('socket_connected', { id: connection.id });
  }

  get openConnections(): SocketConnection[] {
    return [...this.connections.values()].filter((c) => c.socket.readyState === c.socket.OPEN);
  }

  /** Sends an envelope on one open connection (round robin) and waits up to `timeoutMs` for its ack. */
  async sendEnvelope(
    type: 'interactive' | 'slash_commands' | 'events_api',
    payload: unknown,
    acceptsResponsePayload: boolean,
    timeoutMs: number,
  ): Promise<EnvelopeOutcome> {
    const open = this.openConnections;
    const connection = open[this.roundRobin++ % Math.max(open.length, 1)];
    const envelopeId = randomUUID();
    if (!connection) return { acked: false, envelopeId, latencyMs: 0 };
    const started = performance.now();
    const acked = new Promise<{ payload: unknown } | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.pending.set(envelopeId, {
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      });
    });
    connection.socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        payload,
        type,
        accepts_response_payload: acceptsResponsePayload,
        retry_attempt: 0,
        retry_reason: '',
      }),
    );
    const outcome = await acked;
    this.pending.delete(envelopeId);
    const latencyMs = performance.now() - started;
    if (!outcome) return { acked: false, envelopeId, latencyMs, connectionId: connection.id };
    return { acked: true, envelopeId, ackPayload: outcome.payload, latencyMs, connectionId: connection.id };
  }

  /**
   * Sends Slack's `disconnect` control message (reason `warning`, `refresh_requested`, `link_disabled`)
   * and closes the socket if the app has not after `closeAfterMs`.
   */
  disconnect(reason: string, closeAfterMs: number): void {
    for (const c of this.openConnections) {
      c.socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'slack-emulator' } }));
      setTimeout(() => {
        if (c.socket.readyState === c.socket.OPEN) c.socket.close(1000, reason);
      }, closeAfterMs).unref();
    }
  }

  close(): void {
    for (const c of this.connections.values()) c.socket.terminate();
    this.connections.clear();
    this.wss.close();
  }
}
