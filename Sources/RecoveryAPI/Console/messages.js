// Messaging: conversations with their unread counts, one thread at a time,
// new messages arriving over the realtime connection without reloading; with
// no thread open, starting a staff thread.
import { call, currentUser } from './api.js';
import { h, replace, field, errorBox, when, announce } from './dom.js';
import { live } from './realtime.js';
import { newStaffThreadForm } from './threads.js';

export async function messagesPage(main, conversationID, query) {
  const params = new URLSearchParams(query);
  const list = h('ul', { class: 'conversations', id: 'conversation-list' });
  const pane = h('section', { id: 'conversation', 'aria-label': 'Conversation' }, h('p', {}, 'Choose a conversation.'));
  replace(main, h('h1', {}, 'Messages'), h('div', { class: 'messaging' }, h('nav', { 'aria-label': 'Conversations' }, list), pane));

  let conversations;
  try { conversations = await call('GET', '/conversations?limit=100'); } catch (error) { replace(pane, errorBox(error)); return; }
  const patientID = params.get('patient');
  if (patientID && !conversationID) {
    const existing = conversations.data.find((c) => c.kind === 'care' && c.patient_id === patientID);
    try {
      const id = existing?.id || (await call('POST', '/conversations', { patient_id: patientID })).conversation.id;
      location.replace(`#/messages/${id}`);
    } catch (error) { replace(pane, errorBox(error)); }
    return;
  }
  const links = new Map();
  const name = (c) => c.title || c.participants.filter((p) => !p.is_me).map((p) => p.display_name || 'Patient').join(', ') || 'Conversation';
  const countText = (n) => (n ? ` (${n} unread)` : '');
  for (const c of conversations.data) {
    const badge = h('span', { class: 'count' }, countText(c.unread_count));
    const link = h('a', { href: `#/messages/${c.id}`, 'aria-current': c.id === conversationID ? 'true' : null }, name(c), badge);
    links.set(c.id, badge);
    list.append(h('li', {}, link));
  }
  if (!conversations.data.length) list.append(h('li', {}, 'No conversations yet.'));
  live.onPage('conversation:unread', (event) => { const badge = links.get(event.conversation_id); if (badge) badge.textContent = countText(event.unread_count); });
  if (!conversationID) { replace(pane, h('p', {}, 'Choose a conversation, or start a thread with colleagues.'), newStaffThreadForm()); return; }

  const conversation = conversations.data.find((c) => c.id === conversationID);
  const thread = h('ol', { class: 'thread', id: 'thread', tabindex: 0, 'aria-live': 'polite', 'aria-label': 'Messages' });
  const body = h('textarea', { id: 'message-body', rows: 3, maxlength: 4000, required: true });
  const problems = h('div', { 'aria-live': 'assertive' });
  const shown = new Set();
  let newest = null;
  const show = (message) => {
    if (shown.has(message.id)) return;
    shown.add(message.id);
    if (!newest || message.seq > newest.seq) newest = message;
    thread.append(h('li', { class: message.is_mine ? 'mine' : null, 'data-message-id': message.id },
      h('p', { class: 'meta' }, `${message.is_mine ? 'You' : message.sender_name || 'Patient'} · ${when(message.created_at)}`),
      h('p', { class: 'body' }, message.body)));
    thread.scrollTop = thread.scrollHeight;
  };
  const markRead = async () => {
    if (newest && !newest.is_mine) await call('POST', `/conversations/${conversationID}/read`, { up_to_message_id: newest.id }).catch(() => {});
  };
  const form = h('form', { onsubmit: async (event) => {
    event.preventDefault();
    if (!body.value.trim()) return;
    try {
      const sent = await call('POST', `/conversations/${conversationID}/messages`, { body: body.value, client_id: crypto.randomUUID() });
      show(sent.message);
      body.value = '';
      body.focus();
    } catch (error) { replace(problems, errorBox(error)); }
  } }, field('Message', body), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send')));
  replace(pane, h('h2', {}, conversation ? name(conversation) : 'Conversation'), thread, problems, form);

  try {
    const page = await call('GET', `/conversations/${conversationID}/messages?limit=50`);
    [...page.data].reverse().forEach(show);
    await markRead();
  } catch (error) { replace(problems, errorBox(error)); }
  live.onPage('message:new', (event) => {
    if (event.conversation_id !== conversationID) return;
    show(event.message);
    if (!event.message.is_mine) { announce(`New message from ${event.message.sender_name || 'the patient'}`); markRead(); }
  });
}

/** The unread badge in the navigation: loaded once, then kept by realtime events. */
export async function trackUnread(badge) {
  const set = (n) => { badge.textContent = n ? String(n) : ''; badge.hidden = !n; badge.setAttribute('aria-label', `${n} unread`); };
  live.onSession('conversation:unread', (event) => set(event.total_unread));
  try { set((await call('GET', '/conversations?limit=1')).total_unread); } catch { set(0); }
  return currentUser();
}
