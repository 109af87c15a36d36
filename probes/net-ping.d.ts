// The part of net-ping (CommonJS, untyped) that probes/icmp.ts uses.
declare module 'net-ping' {
  export type PingCallback = (error: Error | null, target: string, sent?: Date, rcvd?: Date) => void;
  export interface PingRequest {
    id: number;
    callback: PingCallback;
  }
  export interface Session {
    pingHost(
      target: string,
      callback: (error: Error | null, target: string, sent?: Date, rcvd?: Date) => void,
    ): Session;
    close(): Session;
    on(event: 'error' | 'close', listener: (err?: Error) => void): Session;
    /** Called by raw-socket just before the send system call; wrapped to take the send time. */
    onBeforeSocketSend(req: PingRequest): void;
  }
  export interface SessionOptions {
    networkProtocol?: number;
    packetSize?: number;
    retries?: number;
    sessionId?: number;
    timeout?: number;
    ttl?: number;
  }
  export const NetworkProtocol: { IPv4: number; IPv6: number };
  export class DestinationUnreachableError extends Error {}
  export class PacketTooBigError extends Error {}
  export class RequestTimedOutError extends Error {}
  export class TimeExceededError extends Error {}
  export function createSession(options?: SessionOptions): Session;
  const netPing: {
    createSession: typeof createSession;
    NetworkProtocol: typeof NetworkProtocol;
    DestinationUnreachableError: typeof DestinationUnreachableError;
    PacketTooBigError: typeof PacketTooBigError;
    RequestTimedOutError: typeof RequestTimedOutError;
    TimeExceededError: typeof TimeExceededError;
  };
  export default netPing;
}
