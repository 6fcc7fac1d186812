import { Router } from 'express';
import { AppError } from '../errors.js';
import type { MessageStore } from '../store/messages.js';
import type { Access } from '../store/members.js';
import type { ModerationStore } from '../store/moderation.js';
import type { PresenceStore } from '../store/presence.js';
import type { RoomStore } from '../store/rooms.js';
import { chatRoomRefSchema, historyQuerySchema, parse, roomQuerySchema } from '../protocol.js';
import { requireToken, requireUser, route } from './async.js';
import type { ProxyStatus } from './proxy-check.js';

export interface ApiDeps {
  rooms: RoomStore;
  messages: MessageStore;
  presence: PresenceStore;
  /** Issue 14: who may read a private room or DM. */
  access: Access;
  /** Issue 14: a suspended user's session that outlived the suspension reads no history. */
  moderation: ModerationStore;
  metricsToken: string | undefined;
  /** The proxy check's findings (proxy-check.ts), shown in /api/status. */
  proxyStatus: () => ProxyStatus;
}

export function apiRoutes(deps: ApiDeps): Router {
  const router = Router();

  /** The room directory, paged and searchable (protocol.md): `?q=&cursor=&limit=`. */
  router.get(
    '/rooms',
    route(async (req, res) => {
      requireUser(req);
      const { q = '', cursor = '', limit } = parse(roomQuerySchema, req.query);
      res.json({ success: true, ...(await deps.rooms.page(q.trim(), cursor, limit)) });
    }),
  );

  router.get(
    '/rooms/:room/messages',
    route(async (req, res) => {
      const user = requireUser(req);
      const asked = parse(chatRoomRefSchema, req.params.room);
      const { before, limit } = parse(historyQuerySchema, req.query);
      const room = await deps.rooms.resolve(asked);
      if (!room) throw new AppError('room_not_found', `No room named "${asked}".`);
      // Private rooms and DMs: members only (not_member), as on the socket (issue 14).
      await deps.access.check(room, user);
      // Suspension deletes the sessions it knows of; one it missed (recorded before the per-user
      // record existed) is refused here as the socket handshake refuses it (issue 14).
      if (await deps.moderation.isSuspended(user))
        throw new AppError('suspended', 'This account is suspended.');
      const page = await deps.messages.page(room, before, limit);
      const oldest = page.messages.at(-1)?.seq ?? before ?? page.latestSeq + 1;
      const oldestKept = page.latestSeq - page.kept + 1;
      res.json({
        success: true,
        room,
        messages: page.messages,
        latestSeq: page.latestSeq,
        hasMore: oldest > oldestKept && oldest > 1,
      });
    }),
  );

  router.get(
    '/status',
    requireToken(deps.metricsToken),
    route(async (_req, res) => {
      res.set('Cache-Control', 'no-store');
      res.json({ success: true, instances: await deps.presence.instances(), proxy: deps.proxyStatus() });
    }),
  );

  return router;
}
