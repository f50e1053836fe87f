// The sandbox page: renders the emulator's workspace and sends the user's acts back through it.
import { escapeHtml, renderBlock, renderMessage, textObject, validateInputs } from './blocks.js';

const $ = (id) => document.getElementById(id);
const ui = {
  state: null,
  channel: null,
  user: null,
  modalId: null,
  localErrors: null,
  /** Ephemerals already shown; each new one is anchored to the card the user last clicked. */
  seenEphemerals: new Set(),
  anchors: new Map(),
  lastClick: null,
  ready: false,
};

function userNames() {
  return Object.fromEntries((ui.state?.users ?? []).map((u) => [u.id, u.name]));
}

function author(m) {
  if (m.bot_id) return { name: 'Countersign', initial: 'C' };
  const name = userNames()[m.user] ?? m.user;
  return { name, initial: name.slice(0, 1).toUpperCase() };
}

function timeOf(ts) {
  const d = new Date(Number(ts) * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function messageHtml(m, ctx, extraClass = '') {
  const who = author(m);
  return `<article class="message ${extraClass}" data-channel="${escapeHtml(m.channel)}" data-ts="${escapeHtml(m.ts)}">
  <div class="avatar">${escapeHtml(who.initial)}</div>
  <div class="message-body">
    <div class="message-meta"><b>${escapeHtml(who.name)}</b>${escapeHtml(timeOf(m.ts))}${m.edited ? ' <span class="edited">(edited)</span>' : ''}</div>
    <div class="blocks">${renderMessage(m, ctx)}</div>
  </div></article>`;
}

function render() {
  const s = ui.state;
  if (!s) return;
  $('workspace').textContent = s.team.name;
  const users = s.users;
  const sel = $('user');
  if (sel.options.length !== users.length) {
    sel.innerHTML = users.map((u) => `<option value="${escapeHtml(u.id)}">${escapeHtml(u.real_name)} (@${escapeHtml(u.name)})</option>`).join('');
  }
  if (!ui.user) ui.user = s.default_user && users.some((u) => u.id === s.default_user) ? s.default_user : users[0]?.id;
  sel.value = ui.user;
  if (!ui.channel || !s.channels.some((c) => c.id === ui.channel)) ui.channel = s.channels[0]?.id ?? null;

  $('channels').innerHTML = s.channels
    .map((c) => `<a href="#${escapeHtml(c.id)}" data-channel="${escapeHtml(c.id)}" class="${c.id === ui.channel ? 'active' : ''}"># ${escapeHtml(c.name)}<span class="count">${c.messages.length || ''}</span></a>`)
    .join('');

  const channel = s.channels.find((c) => c.id === ui.channel);
  $('channel-name').textContent = channel ? `# ${channel.name}` : '#';
  const ctx = { users: userNames(), interactive: true };
  const mine = s.ephemerals.filter((e) => e.channel === ui.channel && e.user === ui.user);
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!channel || (channel.messages.length === 0 && mine.length === 0)) {
    list.innerHTML = '<p class="empty">No messages yet. Run <code>npm run demo</code>, or have an agent request an action that needs approval.</p>';
  } else {
    // An ephemeral reply to a click on a card is shown right under that card, where the click was.
    const ephemeralHtml = (e) =>
      `<div class="ephemeral" data-channel="${escapeHtml(e.channel)}" data-ts="${escapeHtml(e.message_ts)}" data-key="${escapeHtml(ephemeralKey(e))}"><div class="ephemeral-note">Only visible to you</div>${renderMessage(e, ctx)}</div>`;
    const byCard = new Map();
    const loose = [];
    const tops = new Set(channel.messages.map((m) => m.ts));
    for (const e of mine) {
      const key = ephemeralKey(e);
      if (!ui.seenEphemerals.has(key) && ui.ready && ui.lastClick?.channel === e.channel) ui.anchors.set(key, ui.lastClick.ts);
      const anchor = ui.anchors.get(key);
      if (anchor && tops.has(anchor)) {
        if (!byCard.has(anchor)) byCard.set(anchor, []);
        byCard.get(anchor).push(e);
      } else loose.push(e);
    }
    const parts = channel.messages.map((m) => {
      const replies = m.replies.filter((r) => r.ts !== m.ts);
      const thread = replies.length
        ? `<div class="thread"><div class="thread-title">${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</div>${replies.map((r) => messageHtml(r, ctx, 'reply')).join('')}</div>`
        : '';
      const notes = (byCard.get(m.ts) ?? []).map(ephemeralHtml).join('');
      return messageHtml(m, ctx).replace(/<\/div><\/article>$/, `${thread}</div></article>`) + notes;
    });
    for (const e of loose) parts.push(ephemeralHtml(e));
    list.innerHTML = parts.join('');
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
  // A new "only visible to you" reply is brought into view, wherever its card is.
  for (const e of mine) {
    const key = ephemeralKey(e);
    if (ui.seenEphemerals.has(key)) continue;
    ui.seenEphemerals.add(key);
    if (ui.ready) list.querySelector(`[data-key="${CSS.escape(key)}"]`)?.scrollIntoView({ block: 'nearest' });
  }
  ui.ready = true;
  renderModal();
}

function ephemeralKey(e) {
  return `${e.channel}:${e.user}:${e.message_ts}`;
}

function renderModal() {
  const box = $('modal');
  const open = (ui.state?.views ?? []).filter((v) => v.user === ui.user);
  const top = open[open.length - 1];
  if (!top) {
    box.hidden = true;
    box.innerHTML = '';
    ui.modalId = null;
    return;
  }
  // Re-render only when the app changed the view (views.update, errors): keep what the user is typing.
  const errors = ui.localErrors ?? top.errors ?? {};
  const key = `${top.id}:${top.hash}:${JSON.stringify(errors)}`;
  if (ui.modalId === key && !box.hidden) return;
  ui.modalId = key;
  const typed = box.hidden ? {} : modalValues(box);
  const v = top.view;
  const ctx = { users: userNames(), interactive: true, errors };
  box.innerHTML = `<div class="modal" role="dialog" aria-modal="true" data-view-id="${escapeHtml(top.id)}">
    <div class="modal-title">${textObject(v.title)}</div>
    <div class="modal-body">${(v.blocks ?? []).map((b) => renderBlock(b, ctx)).join('')}</div>
    <div class="modal-footer">
      <button type="button" data-modal="close">${v.close ? textObject(v.close) : 'Cancel'}</button>
      ${v.submit ? `<button type="button" class="primary" data-modal="submit">${textObject(v.submit)}</button>` : ''}
    </div></div>`;
  box.hidden = false;
  // Errors re-render the modal: what the user typed stays.
  for (const el of box.querySelectorAll('[data-block-id][data-action-id]')) {
    const value = typed[el.dataset.blockId]?.[el.dataset.actionId];
    if (typeof value === 'string' && el.tagName !== 'BUTTON') el.value = value;
  }
}

function toast(text, isError = false) {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast${isError ? ' error' : ''}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), isError ? 6000 : 2500);
}

async function send(path, body) {
  const res = await fetch(`${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const out = await res.json().catch(() => ({}));
  if (!res.ok) toast(out.error ?? `failed (${res.status})`, true);
  else if (out.ok === false) toast(`The app did not acknowledge in time (${out.error ?? out.status}).`, true);
  else if (out.ack_error) toast(`Slack would refuse the app's answer: ${out.ack_error}`, true);
  return out;
}

async function refresh() {
  const res = await fetch('state', { cache: 'no-store' });
  if (!res.ok) return;
  ui.state = await res.json();
  render();
}

let pending = null;
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh().catch(() => undefined);
  }, 60);
}

function listen() {
  const es = new EventSource('events');
  es.addEventListener('open', () => {
    $('live').textContent = 'live';
    $('live').className = 'status on';
    refreshSoon();
  });
  es.addEventListener('change', refreshSoon);
  es.addEventListener('error', () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'status';
  });
}

function modalValues(box) {
  const values = {};
  for (const el of box.querySelectorAll('[data-block-id][data-action-id]')) {
    if (el.tagName === 'BUTTON') continue;
    const block = el.dataset.blockId;
    const action = el.dataset.actionId;
    let value;
    if (el.tagName === 'SELECT' && el.multiple) value = [...el.selectedOptions].map((o) => o.value);
    else value = el.value === '' && el.tagName === 'SELECT' ? null : el.value;
    (values[block] ??= {})[action] = value;
  }
  return values;
}

document.addEventListener('click', async (ev) => {
  const link = ev.target.closest('nav a[data-channel]');
  if (link) {
    ev.preventDefault();
    ui.channel = link.dataset.channel;
    render();
    return;
  }
  const modalButton = ev.target.closest('[data-modal]');
  if (modalButton) {
    const box = $('modal');
    const viewId = box.querySelector('.modal')?.dataset.viewId;
    if (!viewId) return;
    if (modalButton.dataset.modal === 'close') {
      ui.localErrors = null;
      await send('close-view', { user: ui.user, view_id: viewId });
    } else {
      // As Slack's client does: a required field left empty is marked on the field and nothing is sent.
      const values = modalValues(box);
      const view = (ui.state?.views ?? []).find((v) => v.id === viewId)?.view;
      const errors = validateInputs(view, values);
      if (Object.keys(errors).length) {
        ui.localErrors = errors;
        renderModal();
        return;
      }
      ui.localErrors = null;
      ui.modalId = null; // re-render with errors if the app answers with some
      await send('submit', { user: ui.user, view_id: viewId, values });
    }
    refreshSoon();
    return;
  }
  const button = ev.target.closest('button.sk-button');
  if (!button || button.disabled) return;
  if (button.dataset.url) window.open(button.dataset.url, '_blank', 'noopener');
  if (!button.dataset.actionId) return;
  const body = { user: ui.user, action_id: button.dataset.actionId };
  if (button.dataset.blockId) body.block_id = button.dataset.blockId;
  if (button.dataset.value !== undefined) body.value = button.dataset.value;
  const inModal = button.closest('.modal');
  const host = button.closest('[data-ts]');
  if (inModal) body.view_id = inModal.dataset.viewId;
  else if (host) Object.assign(body, { channel: host.dataset.channel, ts: host.dataset.ts });
  else return;
  if (!inModal) ui.lastClick = { channel: body.channel, ts: body.ts };
  button.disabled = true;
  try {
    await send('click', body);
  } finally {
    button.disabled = false;
  }
  refreshSoon();
});

$('user').addEventListener('change', (ev) => {
  ui.user = ev.target.value;
  ui.modalId = null;
  render();
});

$('composer').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('command');
  const line = input.value.trim();
  const m = /^\/([a-z0-9_-]+)\s*([\s\S]*)$/.exec(line);
  if (!m) {
    toast('Type a slash command, e.g. /audit act_… or /countersign help', true);
    return;
  }
  const out = await send('command', { user: ui.user, channel: ui.channel, command: `/${m[1]}`, text: m[2] });
  if (out.ok !== false && !out.error) input.value = '';
  refreshSoon();
});

refresh().then(listen, listen);
