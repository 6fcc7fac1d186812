import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/poll.js';
import {
  createRoom,
  joinRoom,
  openRegisterForm,
  pageInstance,
  register,
  sendMessage,
  submitRegistration,
  waitConnected,
} from './support/chat-ui.js';
import { duplicateSeqs, shownMessages, waitForMessage } from './support/chat-view.js';
import { newUser, type BrowserUser } from './support/chromium.js';
import { NETWORK_TROUBLE, clearProblems, unexpectedProblems } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';
import { screenshot } from './support/screenshots.js';

let rig: BrowserRig;
let browser: Browser;
let alice: BrowserUser;
let bob: BrowserUser;
/** The instance nginx routes each user's address to (probed before any browser connects). */
const expectedInstance = new Map<string, string>();

beforeAll(async () => {
  rig = await startBrowserRig({ instances: 3 }, 2);
  ({ browser } = rig);
  alice = await newUser(browser, 'alice', rig.door(0));
  bob = await newUser(browser, 'bob', rig.door(1));
  expectedInstance.set('alice', rig.instances[0] ?? '');
  expectedInstance.set('bob', rig.instances[1] ?? '');
});

beforeEach(() => {
  for (const user of [alice, bob]) if (user !== undefined) clearProblems(user.problems);
});

afterAll(async () => {
  await rig?.stop();
});

const textOf = (user: BrowserUser, selector: string) => () => user.page.locator(selector).textContent();

describe('two people chatting in the browser, on different instances behind nginx', () => {
  it('registers both through the UI, creates and joins a room, chats both ways with typing and counts', async () => {
    // The sign-up page, empty, as a newcomer sees it.
    await openRegisterForm(alice.page);
    expect(await alice.page.locator('#register-panel').isVisible()).toBe(true);
    expect(await alice.page.locator('#login-panel').isVisible()).toBe(false);
    for (const id of ['#register-username', '#register-password', '#register-confirm-password']) {
      expect(await alice.page.inputValue(id)).toBe('');
    }
    await screenshot(alice.page, 'auth', { docs: true });

    await submitRegistration(alice.page, alice.name);
    await register(bob.page, bob.name);

    // Each browser is served by the instance nginx hashes its address to, and they differ.
    const aliceInstance = await pageInstance(alice.page);
    const bobInstance = await pageInstance(bob.page);
    expect(aliceInstance).toBe(expectedInstance.get('alice'));
    expect(bobInstance).toBe(expectedInstance.get('bob'));
    expect(aliceInstance).not.toBe(bobInstance);

    const room = 'Launch planning';
    await createRoom(alice.page, room);
    await joinRoom(bob.page, room);

    for (const user of [alice, bob]) {
      await until(textOf(user, '#online-count'), (t) => t === 'Online: 2', `${user.name}: Online: 2`);
      await until(textOf(user, '#room-count'), (t) => t === 'Members: 2', `${user.name}: Members: 2`);
    }

    // Typing shows on the other side only, and goes away by itself once she stops.
    await alice.page.locator('#message-input').pressSequentially('Morning Bob!', { delay: 15 });
    await until(
      textOf(bob, '#typing-indicator'),
      (t) => t === 'alice is typing…',
      'bob sees “alice is typing…”',
    );
    expect(await alice.page.textContent('#typing-indicator')).toBe('');
    await until(
      textOf(bob, '#typing-indicator'),
      (t) => t === '',
      'the typing line to clear by itself',
      8000,
    );
    await alice.page.locator('#message-input').fill('');

    const conversation: [BrowserUser, string][] = [
      [alice, 'Morning Bob! Is the 2.4 release still on for today?'],
      [bob, 'Morning! Yes, the build is green on all three instances.'],
      [alice, 'Great. I will post the changelog after lunch: https://example.com/changelog'],
      [bob, 'Sounds good. Ping me if the Redis failover drill needs a second pair of hands.'],
      [alice, 'Will do, thanks!'],
    ];
    for (const [from, text] of conversation) {
      const to = from === alice ? bob : alice;
      await sendMessage(from.page, text);
      const seen = await waitForMessage(to.page, from.name, text);
      expect(seen.classes).toContain('received');
      const own = await waitForMessage(from.page, from.name, text);
      expect(own.classes).toEqual(expect.arrayContaining(['sent', 'sent-ok']));
    }
    // Both logs hold the same messages in the same order, each once.
    const aliceLog = await shownMessages(alice.page);
    const bobLog = await shownMessages(bob.page);
    expect(aliceLog.map((m) => [m.seq, m.sender, m.text])).toEqual(
      conversation.map(([from, text], i) => [String(i + 1), from.name, text]),
    );
    expect(bobLog.map((m) => [m.seq, m.sender, m.text])).toEqual(
      aliceLog.map((m) => [m.seq, m.sender, m.text]),
    );

    // A chat in progress for the README: bob is typing his next message.
    await until(
      () => alice.page.locator('#online-users-list').getAttribute('data-count'),
      (n) => n === '2',
      'alice’s sidebar lists both people online',
    );
    await bob.page.locator('#message-input').pressSequentially('One more thing', { delay: 15 });
    await until(textOf(alice, '#typing-indicator'), (t) => t === 'bob is typing…', 'alice sees bob typing');
    await alice.page.locator('#message-input').fill('');
    await screenshot(alice.page, 'chat', { docs: true });
    await screenshot(bob.page, 'chat-bob');

    // His message ends his "typing" on her side at once (no 4 s wait).
    await bob.page.locator('#message-input').press('Enter');
    await waitForMessage(alice.page, 'bob', 'One more thing');
    expect(await alice.page.textContent('#typing-indicator')).toBe('');

    for (const user of [alice, bob]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('shows markup in messages and room names as text and never runs it', async () => {
    const room = "Tom &amp Jerry's (#1)!";
    await createRoom(bob.page, room);
    await joinRoom(alice.page, room);
    for (const user of [alice, bob]) {
      expect(await user.page.textContent('#current-room')).toBe(room);
      const names = await user.page.locator('#room-list .room-name').allTextContents();
      expect(names).toContain(room);
    }

    // Names with < > are refused by the server; the refusal is shown as text.
    await bob.page.fill('#room-input', '<b>bold</b><img src=x onerror="window.__xss=9">');
    await bob.page.click('#create-room');
    await until(textOf(bob, '#room-error'), (t) => (t ?? '') !== '', 'a room-name error for bob');
    expect(await bob.page.locator('#room-error *, .room-list b, .room-list img').count()).toBe(0);
    await bob.page.fill('#room-input', '');

    const payloads = [
      '<img src=x onerror="window.__xss=1">',
      '<script>window.__xss=2</script>',
      '&lt;b&gt;entities stay entities&lt;/b&gt;',
      '<a href="javascript:window.__xss=3">click me</a> <svg onload="window.__xss=4"></svg>',
    ];
    for (const text of payloads) {
      await sendMessage(alice.page, text);
      await waitForMessage(bob.page, 'alice', text);
      await waitForMessage(alice.page, 'alice', text);
    }
    for (const user of [alice, bob]) {
      const bubbles = (await shownMessages(user.page)).map((m) => m.text);
      expect(bubbles).toEqual(payloads);
      expect(
        await user.page.locator('#chat-box img, #chat-box script, #chat-box svg, #chat-box a').count(),
      ).toBe(0);
      expect(await user.page.evaluate(() => Reflect.get(window, '__xss'))).toBeUndefined();
    }

    // Usernames cannot hold markup at all: the form refuses it and shows the rule as text.
    const mallory = await newUser(browser, 'mallory', alice.door);
    await openRegisterForm(mallory.page);
    await mallory.page.fill('#register-username', '<img src=x onerror="window.__xss=5">');
    await mallory.page.fill('#register-password', 'password123');
    await mallory.page.fill('#register-confirm-password', 'password123');
    await mallory.page.click('#register-submit');
    await until(
      textOf(mallory, '#register-error'),
      (t) => /Usernames are/.test(t ?? ''),
      'the username rule shown',
    );
    expect(mallory.page.url()).toMatch(/\/auth\.html/);
    expect(await mallory.page.locator('#register-error *').count()).toBe(0);
    expect(await mallory.page.evaluate(() => Reflect.get(window, '__xss'))).toBeUndefined();
    await mallory.context.close();

    for (const user of [alice, bob, mallory]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('shows an own message as pending, then sent with its seq; a message sent offline goes out once on reconnect', async () => {
    const room = 'Delivery';
    await createRoom(alice.page, room);
    await joinRoom(bob.page, room);

    // Record each message element's state at the moment it is inserted (pending lasts one round trip).
    await alice.page.evaluate(() => {
      const added: { text: string; classes: string[]; seq: string | null }[] = [];
      Reflect.set(window, '__added', added);
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) {
            if (!(node instanceof HTMLElement) || !node.classList.contains('message-container')) continue;
            added.push({
              text: node.querySelector('.message-bubble')?.textContent ?? '',
              classes: [...node.classList],
              seq: node.dataset.seq ?? null,
            });
          }
        }
      }).observe(document.getElementById('chat-box') as HTMLElement, { childList: true });
    });
    const insertions = () =>
      alice.page.evaluate(
        () => Reflect.get(window, '__added') as { text: string; classes: string[]; seq: string | null }[],
      );

    const online = 'Sent while connected';
    await sendMessage(alice.page, online);
    const confirmed = await waitForMessage(alice.page, 'alice', online);
    expect(confirmed.classes).toContain('sent-ok');
    expect(confirmed.classes).not.toContain('pending');
    expect(confirmed.seq).toBe('1');
    const first = (await insertions()).find((m) => m.text === online);
    expect(first).toMatchObject({ seq: null });
    expect(first?.classes).toContain('pending');
    await waitForMessage(bob.page, 'alice', online);

    // Her network drops: the page says so, and what she sends meanwhile waits, pending.
    alice.door.cut();
    await until(
      textOf(alice, '#connection-banner'),
      (t) => t?.trim() === 'Reconnecting…',
      'alice: Reconnecting…',
    );
    const offline = 'Sent while offline';
    await sendMessage(alice.page, offline);
    const refusedBefore = alice.door.refused;
    await until(
      () => alice.door.refused,
      (n) => n >= refusedBefore + 2,
      'the page to try reconnecting (twice) while cut off',
      15_000,
    );
    const waiting = (await shownMessages(alice.page)).filter((m) => m.text === offline);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.classes).toContain('pending');
    expect(waiting[0]?.classes).not.toContain('failed');
    expect(waiting[0]?.seq).toBeNull();
    expect((await shownMessages(bob.page)).some((m) => m.text === offline)).toBe(false);

    alice.door.restore();
    await waitConnected(alice.page, 20_000);
    const delivered = await waitForMessage(alice.page, 'alice', offline, 15_000);
    expect(delivered.seq).toBe('2');
    expect(delivered.classes).not.toContain('pending');
    await waitForMessage(bob.page, 'alice', offline);
    for (const user of [alice, bob]) {
      const log = await shownMessages(user.page);
      expect(log.filter((m) => m.text === offline)).toHaveLength(1);
      expect(duplicateSeqs(log)).toEqual([]);
      expect(log.map((m) => m.seq)).toEqual(['1', '2']);
    }

    expect(unexpectedProblems(alice.problems, NETWORK_TROUBLE)).toEqual([]);
    expect(unexpectedProblems(bob.problems)).toEqual([]);
  });
});
