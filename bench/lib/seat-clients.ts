/** Seats chat users in rooms for a scenario: the product's rooms created, one sending socket per user, at least one connected. */
import type { BenchCluster } from './cluster.js';
import { connectClients, roomClients, type Ctx } from './context.js';
import { createRooms } from './http.js';
import type { ConnectResult, ServerKind } from './protocol.js';

export interface Seating {
  kind: ServerKind;
  /** One per user; a user's room is roomNames[floor(g / usersPerRoom)]. */
  names: readonly string[];
  /** Session cookies by user (product); empty for the baseline, which has neither rooms nor sessions. */
  cookies: readonly (string | undefined)[];
  roomNames: readonly string[];
  usersPerRoom: number;
  /** Users go round-robin over the cluster's first `instances` instances. */
  instances: number;
  idBase?: number;
}

/**
 * Creates the rooms (product only, as the first user) and connects every user's socket into its
 * room. Throws when no socket connected at all; a partial failure is logged by connectClients.
 */
export async function seatInRooms(
  ctx: Ctx,
  cluster: BenchCluster,
  s: Seating,
): Promise<ConnectResult & { wallMs: number }> {
  const firstCookie = s.cookies[0];
  if (s.kind === 'product' && firstCookie) await createRooms(cluster.urls[0] ?? '', firstCookie, s.roomNames);
  const specs = roomClients(cluster, s.names, {
    cookies: s.cookies,
    rooms: s.roomNames,
    usersPerRoom: s.usersPerRoom,
    instances: s.instances,
    ...(s.idBase === undefined ? {} : { idBase: s.idBase }),
  });
  const connected = await connectClients(ctx, specs, 20);
  if (connected.connected === 0)
    throw new Error(`${s.kind}: no client connected: ${connected.errors.join('; ')}`);
  return connected;
}
