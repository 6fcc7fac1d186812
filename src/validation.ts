import { z } from 'zod';
import { AppError } from './errors.js';
import { canonicalText, displayName, hasVisible } from './text-rules.js';

/** Usernames: 3–32 of A–Z a–z 0–9 _ . - (no separators that could reach other keys). */
export const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
/** Room names: start with a letter or digit, then letters, digits, marks and a few punctuation marks. */
export const ROOM_NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} _.\-'!?&()#]*$/u;
export const ROOM_NAME_MAX = 64;
export const MESSAGE_MAX = 2000;
export const CLIENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 72;

export const usernameSchema = z
  .string({ error: 'username must be a string' })
  .regex(USERNAME_RE, 'username must be 3–32 characters of letters, digits, _ . -');

export const passwordSchema = z
  .string({ error: 'password must be a string' })
  .refine((p) => Buffer.byteLength(p, 'utf8') >= PASSWORD_MIN_BYTES, 'password must be at least 8 bytes')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= PASSWORD_MAX_BYTES, 'password must be at most 72 bytes');

export const credentialsSchema = z.object({ username: usernameSchema, password: passwordSchema });

export const roomNameSchema = z
  .string({ error: 'room name must be a string' })
  .max(ROOM_NAME_MAX * 4, 'room name is too long')
  // Rules in text-rules.ts: invisible characters dropped, NFC; identity (uniqueness) in the room store.
  .transform(displayName)
  .refine((s) => s.length > 0, 'room name must hold something visible')
  .refine((s) => [...s].length <= ROOM_NAME_MAX, `room name must be at most ${ROOM_NAME_MAX} characters`)
  .refine((s) => ROOM_NAME_RE.test(s), "room name may hold letters, digits, spaces and _ . - ' ! ? & ( ) #");

export const joinSchema = z.union([
  roomNameSchema.transform((room) => ({ room, since: undefined as number | undefined })),
  z.object({
    room: roomNameSchema,
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  }),
]);

export const messageSchema = z.object({
  text: z
    .string({ error: 'text must be a string' })
    .max(MESSAGE_MAX, `a message holds at most ${MESSAGE_MAX} characters`)
    .transform(canonicalText)
    .refine(hasVisible, 'a message must hold something visible'),
  clientId: z.string().regex(CLIENT_ID_RE, 'clientId must be 1–64 of A–Z a–z 0–9 _ -').optional(),
});

export const typingSchema = z.boolean({ error: 'typing takes true or false' });

export const historyQuerySchema = z.object({
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** Parses at the edge: a failure becomes an `invalid_payload` AppError naming the first problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new AppError('invalid_payload', first?.message ?? 'invalid payload');
}
