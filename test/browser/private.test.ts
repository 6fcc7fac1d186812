import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/poll.js';
import {
  createRoom,
  PASSWORD,
  pageInstance,
  register,
  sendMessage,
  waitConnected,
  waitJoined,
} from './support/chat-ui.js';
import { shownMessages, waitForMessage } from './support/chat-view.js';
import { newUser, type BrowserUser } from './support/chromium.js';
import { clearProblems, pathOf, unexpectedProblems } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';
import { screenshot } from './support/screenshots.js';

/**
 * Private conversations in the browser: two people on different instances behind nginx (a DM, a
 * private room with an invite and a removal, edits and deletions, unread badges that survive a
 * reload), and an operator suspending a third.
 */

let rig: BrowserRig;
let browser: Browser;
let alice: BrowserUser;
let bob: BrowserUser;

beforeAll(async () => {
  // opal is an operator; a short poll keeps the badges quick to follow.
  rig = await startBrowserRig({ instances: 2, env: { ADMIN_USERS: 'opal' } }, 2);
  ({ browser } = rig);
  alice = await newUser(browser, 'alice', rig.door(0));
  bob = await newUser(browser, 'bob', rig.door(1));
  // Deleting and leaving ask for a confirmation: the person says yes.
  for (const user of [alice, bob]) user.page.on('dialog', (dialog) => void dialog.accept());
});

beforeEach(() => {
  for (const user of [alice, bob]) if (user !== undefined) clearProblems(user.problems);
});

afterAll(async () => {
  await rig?.stop();
});

/** The names shown in a sidebar list. */
const listed = (page: Page, list: '#dm-list' | '#room-list' | '#directory-list') =>
  page.locator(`${list} .room-name`).allTextContents();

/** The sidebar button of a room or DM, by the name it shows. */
const sidebarButton = (page: Page, list: '#dm-list' | '#room-list', name: string) =>
  page.locator(`${list} .room-button`).filter({ has: page.locator('.room-name', { hasText: name }) });

/** A shown message by its text (confirmed). */
const messageNode = (page: Page, text: string) =>
  page.locator('#chat-box .message-container[data-seq]').filter({
    has: page.locator('.message-bubble', { hasText: text }),
  });

/** Badges of one sidebar item: unread count and mentions ('' when hidden). */
function badges(page: Page, list: '#dm-list' | '#room-list', name: string) {
  return page.evaluate(
    ({ list, name }) => {
      const button = [...document.querySelectorAll<HTMLElement>(`${list} .room-button`)].find(
        (b) => b.querySelector('.room-name')?.textContent === name,
      );
      const shown = (selector: string) => {
        const badge = button?.querySelector<HTMLElement>(selector);
        return badge && !badge.hidden ? (badge.textContent ?? '') : '';
      };
      return {
        unread: shown('.unread-badge'),
        mentions: shown('.mention-badge'),
        label: button?.getAttribute('aria-label') ?? null,
      };
    },
    { list, name },
  );
}

describe('private conversations in the browser, two people on different instances', () => {
  it('opens a DM from the online list; both see it by the other’s name and chat both ways', async () => {
    await register(alice.page, alice.name);
    await register(bob.page, bob.name);
    expect(await pageInstance(alice.page)).not.toBe(await pageInstance(bob.page));

    const messageBob = alice.page.locator('#online-users-list [data-user-action="message"][data-user="bob"]');
    await until(
      () => messageBob.count(),
      (n) => n === 1,
      'bob online with a Message button for alice',
    );
    // Nobody is offered to message themselves.
    expect(await alice.page.locator('#online-users-list [data-user="alice"]').count()).toBe(0);
    await messageBob.click();
    await waitJoined(alice.page, 'bob');
    expect(await listed(alice.page, '#dm-list')).toEqual(['bob']);

    // Bob is told on his instance at once, without reloading.
    await until(
      () => listed(bob.page, '#dm-list'),
      (names) => names.join() === 'alice',
      'the DM in bob’s sidebar',
    );
    await sidebarButton(bob.page, '#dm-list', 'alice').click();
    await waitJoined(bob.page, 'alice');

    await sendMessage(alice.page, 'Hi Bob, just us here');
    await waitForMessage(bob.page, 'alice', 'Hi Bob, just us here');
    await sendMessage(bob.page, 'Hi Alice!');
    await waitForMessage(alice.page, 'bob', 'Hi Alice!');
    // A DM is never in anyone's directory.
    for (const user of [alice, bob]) {
      expect((await listed(user.page, '#directory-list')).some((n) => n.startsWith('@'))).toBe(false);
    }
    for (const user of [alice, bob]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('shows an edit and a deletion to the other person live, in place', async () => {
    await sendMessage(alice.page, 'See you at 9');
    await sendMessage(alice.page, 'Wrong chat, sorry');
    await waitForMessage(bob.page, 'alice', 'Wrong chat, sorry');
    const before = await shownMessages(bob.page);

    // Bob may not change Alice's messages: no buttons on them.
    expect(await messageNode(bob.page, 'See you at 9').locator('.message-action').count()).toBe(0);

    // Edit with the keyboard: Edit opens a field with the text, Escape gives up (focus back on Edit),
    // then Edit again, new text, Enter.
    const editButton = messageNode(alice.page, 'See you at 9').locator('.edit-button');
    await editButton.focus();
    await alice.page.keyboard.press('Enter');
    const editor = alice.page.locator('#chat-box .edit-input');
    expect(await editor.inputValue()).toBe('See you at 9');
    expect(await editor.evaluate((node) => node === document.activeElement)).toBe(true);
    await editor.press('Escape');
    expect(await editor.count()).toBe(0);
    expect(await editButton.evaluate((node) => node === document.activeElement)).toBe(true);
    await alice.page.keyboard.press('Enter');
    await editor.fill('See you at 10');
    await editor.press('Enter');
    await waitForMessage(bob.page, 'alice', 'See you at 10');
    const edited = messageNode(bob.page, 'See you at 10');
    expect(await edited.locator('.edited-mark').textContent()).toBe('(edited)');

    await messageNode(alice.page, 'Wrong chat, sorry').locator('.delete-button').click();
    await until(
      () => shownMessages(bob.page),
      (list) =>
        !list.some((m) => m.text === 'Wrong chat, sorry') && list.some((m) => m.text === 'message deleted'),
      'the tombstone on bob’s side',
    );
    // Same seqs in the same order: the edit and the tombstone kept their places.
    const after = await shownMessages(bob.page);
    expect(after.map((m) => m.seq)).toEqual(before.map((m) => m.seq));
    const tombstone = after.find((m) => m.text === 'message deleted');
    expect(tombstone?.classes).toContain('deleted');
    expect(tombstone?.seq).toBe(before.find((m) => m.text === 'Wrong chat, sorry')?.seq);
    await alice.page.locator('#chat-box .message-container[data-seq]').last().hover();
    await screenshot(alice.page, 'edit-delete');

    // A reload shows the final state from history.
    await bob.page.reload();
    await waitConnected(bob.page);
    await waitForMessage(bob.page, 'alice', 'See you at 10');
    await until(
      () => shownMessages(bob.page),
      (list) =>
        list.some((m) => m.text === 'message deleted') && !list.some((m) => m.text.includes('Wrong chat')),
      'the final state after a reload',
    );
    for (const user of [alice, bob]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('keeps a private room to its members: invite by name, then a removal takes it away live', async () => {
    const room = 'Secret plans';
    await alice.page.check('#room-private');
    await createRoom(alice.page, room);
    await until(
      () => listed(alice.page, '#room-list'),
      (names) => names[0] === room,
      'the private room listed first',
    );
    expect(await sidebarButton(alice.page, '#room-list', room).getAttribute('aria-label')).toContain(
      'private',
    );
    // Alice's own messages in the DM she just left count as read: no badge appears for them.
    for (let i = 0; i < 10; i++) {
      expect(await badges(alice.page, '#dm-list', 'bob')).toMatchObject({ unread: '', mentions: '' });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Bob neither has it nor finds it in the directory.
    await bob.page.fill('#room-search', 'Secret');
    await until(
      () => bob.page.textContent('#directory-status'),
      (t) => (t ?? '').includes('No other rooms match'),
      'no match for bob',
    );

    await alice.page.click('#members-toggle');
    expect(await alice.page.getAttribute('#members-toggle', 'aria-expanded')).toBe('true');
    await until(
      () => alice.page.locator('#members-list .member-name').allTextContents(),
      (m) => m.join() === 'alice',
      'alice, the only member',
    );
    await alice.page.fill('#invite-input', 'bob');
    await alice.page.press('#invite-input', 'Enter');
    await until(
      () => alice.page.textContent('#members-status'),
      (t) => t === 'bob was invited.',
      'the invite confirmed',
    );

    await until(
      () => listed(bob.page, '#room-list'),
      (names) => names.includes(room),
      'the room in bob’s sidebar live',
    );
    await sidebarButton(bob.page, '#room-list', room).click();
    await waitJoined(bob.page, room);
    // A member sees Leave, not the owner's tools.
    expect(await bob.page.locator('#leave-room').isVisible()).toBe(true);
    expect(await bob.page.locator('#delete-room').isVisible()).toBe(false);
    await sendMessage(bob.page, 'Thanks for having me');
    await waitForMessage(alice.page, 'bob', 'Thanks for having me');
    await screenshot(alice.page, 'private-room', { docs: true });

    await alice.page.locator('#members-list [data-remove="bob"]').click();
    await until(
      () => alice.page.textContent('#members-status'),
      (t) => t === 'bob was removed from the room.',
      'the removal confirmed',
    );
    // Bob's view leaves the room and says why; the room is gone from his sidebar.
    await until(
      () => bob.page.textContent('#chat-notice'),
      (t) => t === `You were removed from “${room}”.`,
      'the removal explained to bob',
    );
    expect(await bob.page.textContent('#current-room')).toBe('No room selected');
    expect(await listed(bob.page, '#room-list')).not.toContain(room);
    // Messages sent after the removal never reach him.
    await sendMessage(alice.page, 'Now without Bob');
    await waitForMessage(alice.page, 'alice', 'Now without Bob');
    expect((await shownMessages(bob.page)).some((m) => m.text === 'Now without Bob')).toBe(false);
    await bob.page.fill('#room-search', '');
    for (const user of [alice, bob]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('counts unread messages and mentions across a reload, and puts the divider at the read position', async () => {
    // Bob is elsewhere (a room of his own) while Alice writes in their DM.
    await createRoom(bob.page, 'Bob corner');
    await sidebarButton(alice.page, '#dm-list', 'bob').click();
    await waitJoined(alice.page, 'bob');
    const lastRead = (await shownMessages(alice.page)).filter((m) => m.seq !== null).at(-1)?.text;
    await sendMessage(alice.page, 'Are you there?');
    await sendMessage(alice.page, 'Ping @bob');
    await sendMessage(alice.page, 'Third one');
    await waitForMessage(alice.page, 'alice', 'Third one');

    await bob.page.reload();
    await waitConnected(bob.page);
    const counted = await until(
      () => badges(bob.page, '#dm-list', 'alice'),
      (b) => b.unread === '3' && b.mentions === '@1',
      '3 unread and 1 mention on the DM after a reload',
    );
    expect(counted.label).toBe('alice, 3 unread, 1 mention');
    // A second tab of his counts the same, and agrees once the first one has read them.
    const tab = await bob.context.newPage();
    await tab.goto('/chat.html');
    await waitConnected(tab);
    await until(
      () => badges(tab, '#dm-list', 'alice'),
      (b) => b.unread === '3' && b.mentions === '@1',
      'the same badges in a second tab',
    );

    await sidebarButton(bob.page, '#dm-list', 'alice').click();
    await waitJoined(bob.page, 'alice');
    await until(
      () => badges(tab, '#dm-list', 'alice'),
      (b) => b.unread === '' && b.mentions === '',
      'the badges gone in the other tab (read-marker)',
    );
    await tab.close();
    await until(
      () =>
        bob.page.evaluate(() => {
          const divider = document.querySelector('#chat-box .new-divider');
          const before =
            divider?.previousElementSibling?.querySelector('.message-bubble')?.textContent ?? null;
          const after = divider?.nextElementSibling?.querySelector('.message-bubble')?.textContent ?? null;
          return { before, after };
        }),
      (d) => d.after === 'Are you there?' && d.before === lastRead,
      'the divider between what bob had read and the new messages',
    );
    expect(await bob.page.getAttribute('#chat-box .new-divider', 'role')).toBe('separator');
    await screenshot(bob.page, 'unread-divider');
    expect(await badges(bob.page, '#dm-list', 'alice')).toMatchObject({ unread: '', mentions: '' });

    // Read on the server: another reload shows no badge and no divider.
    await sidebarButton(bob.page, '#room-list', 'Bob corner').click();
    await waitJoined(bob.page, 'Bob corner');
    await bob.page.reload();
    await waitConnected(bob.page);
    await until(
      () => listed(bob.page, '#dm-list'),
      (names) => names.includes('alice'),
      'the DM listed',
    );
    // Two polls of the badges: long enough for a wrong count to show up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await badges(bob.page, '#dm-list', 'alice')).toMatchObject({ unread: '', mentions: '' });
    for (const user of [alice, bob]) expect(unexpectedProblems(user.problems)).toEqual([]);
  });

  it('lets an operator suspend someone from the online list (their page ends, sign-in is refused with a reason) and delete a room others are in', async () => {
    const opal = await newUser(browser, 'opal', rig.door(0));
    const carol = await newUser(browser, 'carol', rig.door(1));
    opal.page.on('dialog', (dialog) => void dialog.accept());
    await register(opal.page, opal.name);
    await register(carol.page, carol.name);
    // Only operators get the tools.
    expect(await bob.page.locator('#online-users-list [data-user-action="suspend"]').count()).toBe(0);
    expect(await bob.page.locator('#moderation-section').isHidden()).toBe(true);

    const suspend = opal.page.locator('#online-users-list [data-user-action="suspend"][data-user="carol"]');
    await until(
      () => suspend.count(),
      (n) => n === 1,
      'a Suspend button beside carol for the operator',
    );
    await suspend.click();
    await carol.page.waitForURL('**/auth.html?reason=suspended');
    await until(
      () => carol.page.textContent('#login-error'),
      (t) => (t ?? '').includes('suspended'),
      'the reason on the sign-in page',
    );

    await carol.page.fill('#login-username', carol.name);
    await carol.page.fill('#login-password', PASSWORD);
    await carol.page.click('#login-submit');
    await until(
      () => carol.page.textContent('#login-error'),
      (t) => t === 'This account is suspended. Please contact an operator of this chat.',
      'the refused sign-in explained',
    );

    await opal.page.fill('#suspend-input', 'carol');
    await opal.page.click('#restore-submit');
    await until(
      () => opal.page.textContent('#moderation-status'),
      (t) => t === 'carol may sign in again.',
      'the suspension lifted',
    );
    await Promise.all([carol.page.waitForURL('**/chat.html'), carol.page.click('#login-submit')]);
    await waitConnected(carol.page);
    // Back in, she starts a DM by typing a name: an unknown one is explained, a known one opens.
    await carol.page.fill('#dm-input', 'nobody_like_this');
    await carol.page.press('#dm-input', 'Enter');
    await until(
      () => carol.page.textContent('#dm-error'),
      (t) => t === 'There is no user called “nobody_like_this”.',
      'an unknown name explained',
    );
    await carol.page.fill('#dm-input', 'OPAL');
    await carol.page.press('#dm-input', 'Enter');
    await waitJoined(carol.page, 'opal');
    await until(
      () => listed(opal.page, '#dm-list'),
      (names) => names.join() === 'carol',
      'the DM in opal’s sidebar',
    );
    // The refused sign-in answered 403 on purpose.
    expect(
      unexpectedProblems(carol.problems, [
        (e) => /status of 403/.test(e.text) && pathOf(e.url) === '/auth/login',
      ]),
    ).toEqual([]);

    // An operator deletes a room someone else is in: it leaves his view, explained, and his sidebar.
    await sidebarButton(bob.page, '#room-list', 'Bob corner').click();
    await waitJoined(bob.page, 'Bob corner');
    await opal.page.locator('#directory-list .room-button', { hasText: 'Bob corner' }).click();
    await waitJoined(opal.page, 'Bob corner');
    await opal.page.click('#delete-room');
    await until(
      () => bob.page.textContent('#chat-notice'),
      (t) => t === '“Bob corner” was deleted.',
      'the deletion explained to bob',
    );
    expect(await bob.page.textContent('#current-room')).toBe('No room selected');
    expect(await listed(bob.page, '#room-list')).not.toContain('Bob corner');
    expect(unexpectedProblems(opal.problems)).toEqual([]);
    expect(unexpectedProblems(bob.problems)).toEqual([]);
    await Promise.all([opal.context.close(), carol.context.close()]);
  });
});
