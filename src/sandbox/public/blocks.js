// Block Kit → HTML for the sandbox page. No dependencies, no build step; also imported by the tests.
// Every piece of text is HTML-escaped before any markup is added, so nothing an agent wrote can inject HTML.

const EMOJI = {
  white_check_mark: '✅', no_entry: '⛔', hourglass: '⌛', octagonal_sign: '🛑', rocket: '🚀', x: '❌',
  warning: '⚠️', lock: '🔒', eyes: '👀', tada: '🎉', hourglass_flowing_sand: '⏳', bell: '🔔',
  repeat: '🔁', pencil2: '✏️', scissors: '✂️',
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Slack sends `&`, `<`, `>` escaped inside mrkdwn; turn them back into characters before HTML-escaping. */
function slackUnescape(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

const PAD = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `<!date^unix^format|fallback>`: a few of Slack's tokens, in the reader's time zone. */
function formatDate(unix, format, fallback) {
  const d = new Date(Number(unix) * 1000);
  if (Number.isNaN(d.getTime())) return fallback;
  const date = `${MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()}`;
  const time = `${PAD(d.getHours())}:${PAD(d.getMinutes())}`;
  return format
    .replace(/\{date_(short_pretty|long_pretty|pretty|short|long|num)\}/g, date)
    .replace(/\{date\}/g, date)
    .replace(/\{time_secs\}/g, `${time}:${PAD(d.getSeconds())}`)
    .replace(/\{time\}/g, time);
}

const SAFE_URL = /^(https?:|mailto:)/i;

/** One `<…>` entity of mrkdwn: mentions, dates, links. Returns HTML. */
function entity(body, ctx) {
  const bar = body.indexOf('|');
  const target = bar === -1 ? body : body.slice(0, bar);
  const label = bar === -1 ? null : slackUnescape(body.slice(bar + 1));
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = label ?? ctx.users?.[id] ?? id;
    return `<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!date^')) {
    const [, unix = '', format = ''] = target.split('^');
    const fallback = label ?? '';
    return `<time title="${escapeHtml(fallback)}">${escapeHtml(formatDate(unix, slackUnescape(format), fallback))}</time>`;
  }
  if (target.startsWith('!subteam^')) return `<span class="mention">${escapeHtml(label ?? '@group')}</span>`;
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  const url = slackUnescape(target);
  if (SAFE_URL.test(url)) return `<a href="${escapeHtml(url)}" rel="noopener noreferrer" target="_blank">${escapeHtml(label ?? url)}</a>`;
  return escapeHtml(label ?? url);
}

/**
 * `*bold*`, `_italic_`, `~strike~` as Slack applies them: the opening marker starts the text or follows a
 * character that is not a letter or digit, the closing one ends the text or is followed by one, and the text
 * between starts and ends with a non-space on one line. So `"0 3 * * *"`, `2 * 3 * 4`, `a*b*c` and
 * `snake_case_name` stay as typed, while `*bold*`, `(*bold*)` and `*bold*.` are bold.
 */
function emphasis(html, marker, tag) {
  const m = marker === '*' ? '\\*' : marker;
  const re = new RegExp(`(^|[^\\p{L}\\p{N}${m}])${m}(?=\\S)([^${m}\\n]*?\\S)${m}(?=$|[^\\p{L}\\p{N}${m}])`, 'gu');
  return html.replace(re, `$1<${tag}>$2</${tag}>`);
}

/** Plain stretches of mrkdwn: *bold*, _italic_, ~strike~ and emoji, applied to already-escaped text. */
function styled(text) {
  let html = escapeHtml(slackUnescape(text));
  html = emphasis(html, '*', 'b');
  html = emphasis(html, '_', 'i');
  html = emphasis(html, '~', 's');
  return emoji(html);
}

/** Text between code spans: entities first (they may contain `*` or `_`), styling on what is left. */
function inline(text, ctx) {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/<([^<>\n]+)>/g)) {
    out += styled(text.slice(last, m.index));
    out += entity(m[1], ctx);
    last = m.index + m[0].length;
  }
  return out + styled(text.slice(last));
}

/** Slack mrkdwn → safe HTML: ```blocks```, `code`, *bold*, _italic_, ~strike~, <@U…>, <!date^…|…>, links. */
export function mrkdwn(text, ctx = {}) {
  const source = String(text ?? '');
  let out = '';
  let last = 0;
  for (const m of source.matchAll(/```([\s\S]*?)```/g)) {
    out += spans(source.slice(last, m.index), ctx);
    out += `<pre>${escapeHtml(slackUnescape(m[1].replace(/^\n/, '')))}</pre>`;
    last = m.index + m[0].length;
  }
  return out + spans(source.slice(last), ctx);
}

function spans(text, ctx) {
  // A `>` that starts a line is a quote marker (a literal one arrives escaped as `&gt;`).
  return text
    .split('\n')
    .map((line) => {
      const quote = /^>\s?/.exec(line);
      const html = codeSpans(quote ? line.slice(quote[0].length) : line, ctx);
      return quote ? `<blockquote>${html}</blockquote>` : html;
    })
    .join('<br>')
    .replace(/<\/blockquote><br>/g, '</blockquote>');
}

function codeSpans(text, ctx) {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    out += inline(text.slice(last, m.index), ctx);
    out += `<code>${escapeHtml(slackUnescape(m[1]))}</code>`;
    last = m.index + m[0].length;
  }
  return out + inline(text.slice(last), ctx);
}

/** A text object: plain_text is shown as typed (emoji aside), mrkdwn is formatted. */
export function textObject(t, ctx = {}) {
  if (!t) return '';
  if (t.type === 'mrkdwn') return mrkdwn(t.text, ctx);
  return emoji(escapeHtml(t.text ?? '')).replace(/\n/g, '<br>');
}

function attrs(map) {
  return Object.entries(map)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}="${escapeHtml(v)}"`)
    .join('');
}

function button(el, blockId, ctx) {
  const style = el.style === 'primary' || el.style === 'danger' ? ` ${el.style}` : '';
  const a = attrs({
    'data-action-id': el.action_id,
    'data-block-id': blockId,
    'data-value': el.value,
    'data-url': el.url && SAFE_URL.test(el.url) ? el.url : undefined,
    disabled: ctx.interactive === false ? 'disabled' : undefined,
  });
  return `<button type="button" class="sk-button${style}"${a}>${textObject(el.text, ctx)}</button>`;
}

function option(o, selected) {
  return `<option value="${escapeHtml(o.value)}"${selected ? ' selected' : ''}>${escapeHtml(o.text?.text ?? o.value)}</option>`;
}

/** Interactive elements. Inputs carry data-block-id/data-action-id so a modal can be submitted. */
function element(el, blockId, ctx) {
  const ids = attrs({ 'data-block-id': blockId, 'data-action-id': el.action_id, 'data-type': el.type });
  switch (el.type) {
    case 'button':
      return button(el, blockId, ctx);
    case 'image':
      return `<img class="sk-img-el" alt="${escapeHtml(el.alt_text ?? '')}" src="${escapeHtml(SAFE_URL.test(el.image_url ?? '') ? el.image_url : '')}">`;
    case 'plain_text_input': {
      const ph = el.placeholder ? ` placeholder="${escapeHtml(el.placeholder.text)}"` : '';
      const len = attrs({ maxlength: el.max_length, minlength: el.min_length });
      if (el.multiline) return `<textarea class="sk-input"${ids}${ph}${len}>${escapeHtml(el.initial_value ?? '')}</textarea>`;
      return `<input class="sk-input" type="text"${ids}${ph}${len} value="${escapeHtml(el.initial_value ?? '')}">`;
    }
    case 'number_input': {
      const bounds = attrs({ min: el.min_value, max: el.max_value, step: el.is_decimal_allowed ? 'any' : '1' });
      return `<input class="sk-input" type="number"${ids}${bounds} value="${escapeHtml(el.initial_value ?? '')}">`;
    }
    case 'static_select':
    case 'radio_buttons': {
      const opts = [...(el.options ?? []), ...(el.option_groups ?? []).flatMap((g) => g.options ?? [])];
      const initial = el.initial_option?.value;
      return `<select class="sk-input"${ids}><option value="">${escapeHtml(el.placeholder?.text ?? 'Choose…')}</option>${opts.map((o) => option(o, o.value === initial)).join('')}</select>`;
    }
    case 'checkboxes':
    case 'multi_static_select': {
      const initial = new Set((el.initial_options ?? []).map((o) => o.value));
      return `<select class="sk-input" multiple${ids}>${(el.options ?? []).map((o) => option(o, initial.has(o.value))).join('')}</select>`;
    }
    default:
      return `<span class="sk-unsupported">[${escapeHtml(el.type ?? 'element')}]</span>`;
  }
}

/** One block. Unknown block types are named, not dropped, so a reader knows something is there. */
export function renderBlock(block, ctx = {}) {
  const id = block.block_id;
  switch (block.type) {
    case 'header':
      return `<div class="sk-header">${textObject(block.text, ctx)}</div>`;
    case 'section': {
      const text = block.text ? `<div class="sk-text">${textObject(block.text, ctx)}</div>` : '';
      const fields = block.fields?.length
        ? `<div class="sk-fields">${block.fields.map((f) => `<div class="sk-field">${textObject(f, ctx)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory ? `<div class="sk-accessory">${element(block.accessory, id, ctx)}</div>` : '';
      return `<div class="sk-section"><div class="sk-section-body">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="sk-context">${(block.elements ?? [])
        .map((e) => (e.type === 'image' ? element(e, id, ctx) : `<span>${textObject(e, ctx)}</span>`))
        .join('')}</div>`;
    case 'actions':
      return `<div class="sk-actions">${(block.elements ?? []).map((e) => element(e, id, ctx)).join('')}</div>`;
    case 'divider':
      return '<hr class="sk-divider">';
    case 'image':
      return `<figure class="sk-image">${block.title ? `<figcaption>${textObject(block.title, ctx)}</figcaption>` : ''}<img alt="${escapeHtml(block.alt_text ?? '')}" src="${escapeHtml(SAFE_URL.test(block.image_url ?? '') ? block.image_url : '')}"></figure>`;
    case 'input': {
      const optional = block.optional ? ' <span class="sk-optional">(optional)</span>' : '';
      const hint = block.hint ? `<div class="sk-hint">${textObject(block.hint, ctx)}</div>` : '';
      const error = ctx.errors?.[id] ? `<div class="sk-error">${escapeHtml(ctx.errors[id])}</div>` : '';
      return `<label class="sk-input-block"><span class="sk-label">${textObject(block.label, ctx)}${optional}</span>${element(block.element ?? {}, id, ctx)}${hint}${error}</label>`;
    }
    case 'rich_text':
      return `<div class="sk-text">${escapeHtml(richText(block))}</div>`;
    default:
      return `<div class="sk-unsupported">[${escapeHtml(block.type ?? 'block')} block]</div>`;
  }
}

function richText(node) {
  if (typeof node?.text === 'string') return node.text;
  return (node?.elements ?? []).map(richText).join('');
}

/** A message: its blocks, or its plain `text` when it has none. */
export function renderMessage(message, ctx = {}) {
  if (Array.isArray(message.blocks) && message.blocks.length) return message.blocks.map((b) => renderBlock(b, ctx)).join('');
  return `<div class="sk-text">${mrkdwn(message.text ?? '', ctx)}</div>`;
}

/**
 * What Slack's client checks before it sends a modal's `view_submission`: a required input left empty, text
 * shorter than `min_length`. Errors by block_id, shown on the fields as the app's `response_action: errors` are.
 */
export function validateInputs(view, values) {
  const errors = {};
  for (const block of view?.blocks ?? []) {
    if (block.type !== 'input' || !block.element) continue;
    const value = values?.[block.block_id]?.[block.element.action_id];
    const empty = value === undefined || value === null || (typeof value === 'string' && value.trim() === '') || (Array.isArray(value) && value.length === 0);
    if (empty) {
      if (!block.optional) errors[block.block_id] = 'Please complete this required field.';
      continue;
    }
    const min = block.element.type === 'plain_text_input' ? block.element.min_length : undefined;
    if (typeof value === 'string' && typeof min === 'number' && value.length < min) {
      errors[block.block_id] = `Please enter at least ${min} characters.`;
    }
  }
  return errors;
}
