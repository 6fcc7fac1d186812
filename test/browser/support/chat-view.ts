/** Reading the chat page: the messages shown, waiting for one, duplicates among them. */
import type { Page } from 'playwright-core';
import { until } from '../../helpers/poll.js';

export interface ShownMessage {
  seq: string | null;
  clientId: string | null;
  sender: string;
  text: string;
  classes: string[];
}

/** Every message element in #chat-box, top to bottom. */
export function shownMessages(page: Page): Promise<ShownMessage[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#chat-box .message-container')].map((node) => ({
      seq: node.dataset.seq ?? null,
      clientId: node.dataset.clientId ?? null,
      sender: node.querySelector('.sender-name')?.textContent ?? '',
      text: node.querySelector('.message-bubble')?.textContent ?? '',
      classes: [...node.classList],
    })),
  );
}

/** Waits until `page` shows a message with this text from `sender`, confirmed (with a seq). */
export async function waitForMessage(
  page: Page,
  sender: string,
  text: string,
  timeoutMs = 10_000,
): Promise<ShownMessage> {
  const all = await until(
    () => shownMessages(page),
    (list) => list.some((m) => m.text === text && m.sender === sender && m.seq !== null),
    `message “${text}” from ${sender}`,
    timeoutMs,
  );
  const found = all.find((m) => m.text === text && m.sender === sender && m.seq !== null);
  if (found === undefined) throw new Error('unreachable');
  return found;
}

/** Seqs shown more than once (should be none). */
export function duplicateSeqs(list: ShownMessage[]): string[] {
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const m of list) {
    if (m.seq === null) continue;
    if (seen.has(m.seq)) dupes.push(m.seq);
    seen.add(m.seq);
  }
  return dupes;
}
