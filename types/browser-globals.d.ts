/**
 * Globals of the browser pages, for `tsconfig.public.json` (checkJs on public/js): the Socket.IO
 * client script (/socket.io/socket.io.min.js) defines `io`; a page that failed to load it has none.
 */
import type { io as connect } from 'socket.io-client';

declare global {
  var io: typeof connect | undefined;
}

export {};
