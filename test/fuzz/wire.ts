import { SOCKET_MAX_BYTES } from './limits.js';

/**
 * What socket.io-client does to an emitted case before it reaches the server: frame sizes (to tell a
 * packet the server must refuse from one it must serve) and the arguments as the handlers see them.
 */

/** Whether a value is sent as a binary attachment by socket.io. */
export function isBinary(v: unknown): v is Buffer | ArrayBuffer | ArrayBufferView {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/**
 * socket.io-parser's deconstructPacket for a packet with binary attachments: binaries become
 * placeholders and objects are copied key by key with plain assignment, so an own `__proto__` key is
 * dropped (primitive value) or swaps the copy's prototype (object value) instead of being sent.
 */
function deconstructLikeClient(data: unknown, buffers: number[], viaToJSON = false): unknown {
  if (!data) return data;
  if (isBinary(data)) {
    buffers.push(data.byteLength);
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(data)) return data.map((v: unknown) => deconstructLikeClient(v, buffers));
  if (typeof data === 'object' && !(data instanceof Date)) {
    const o = data as Record<string, unknown>;
    if (typeof o.toJSON === 'function' && !viaToJSON)
      return deconstructLikeClient((o.toJSON as () => unknown)(), buffers, true);
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(o)) copy[key] = deconstructLikeClient(o[key], buffers);
    return copy;
  }
  return data;
}

function hasBinary(event: string, args: readonly unknown[]): boolean {
  let found = false;
  JSON.stringify([event, ...args], function (this: unknown, key: string, value: unknown) {
    if (isBinary((this as Record<string, unknown>)[key])) found = true;
    return value;
  });
  return found;
}

/**
 * Sizes of the frames socket.io sends for `emit(event, ...args)` over WebSocket: the text frame
 * (JSON with placeholders for binaries) and each binary attachment. maxHttpBufferSize is enforced
 * per frame. `text` is 0 when the client's encoder would throw (nothing is sent).
 */
export function frameSizes(event: string, args: readonly unknown[]): { text: number; binaries: number[] } {
  const overhead = 24; // "4" (engine message) + "5"/"2" + attachments "N-" + ack id
  if (!hasBinary(event, args))
    return { text: Buffer.byteLength(JSON.stringify([event, ...args]) ?? '') + overhead, binaries: [] };
  const binaries: number[] = [];
  try {
    const json = JSON.stringify(deconstructLikeClient([event, ...args], binaries));
    return { text: Buffer.byteLength(json ?? '') + overhead, binaries };
  } catch {
    return { text: 0, binaries: [] };
  }
}

/** The handler's arguments after the wire: binary attachments stand in as `{ binary: true }`. */
export function serverView(event: string, args: readonly unknown[]): unknown[] {
  let text: string | undefined;
  try {
    text = hasBinary(event, args)
      ? JSON.stringify(deconstructLikeClient([event, ...args], []), (_k, v: unknown) =>
          typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, '_placeholder')
            ? { binary: true }
            : v,
        )
      : JSON.stringify([event, ...args]);
  } catch {
    return [];
  }
  const parsed: unknown = JSON.parse(text ?? '[]');
  return Array.isArray(parsed) ? parsed.slice(1) : [];
}

export type SizeClass = 'fits' | 'over' | 'edge';

/** 'fits', 'over' (the server must close the socket), or 'edge' (too close to call). */
export function sizeClass(event: string, args: readonly unknown[], polling: boolean): SizeClass {
  const { text, binaries } = frameSizes(event, args);
  // Long-polling sends the whole packet, attachments base64-encoded, in one POST body.
  const largest = polling
    ? text + binaries.reduce((s, n) => s + Math.ceil((n * 4) / 3) + 2, 0)
    : Math.max(text, ...binaries);
  const margin = polling ? 256 : 64;
  if (largest <= SOCKET_MAX_BYTES - margin) return 'fits';
  if (largest >= SOCKET_MAX_BYTES + margin) return 'over';
  return 'edge';
}

/** A short, safe preview of any value for failure messages. */
export function preview(v: unknown, max = 160): string {
  let s: string;
  try {
    s =
      JSON.stringify(v, (_k, value: unknown) =>
        isBinary(value)
          ? `<binary ${value.byteLength} B>`
          : typeof value === 'string' && value.length > 60
            ? `${value.slice(0, 40)}…(${value.length})`
            : value,
      ) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
