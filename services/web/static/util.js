// Small DOM and formatting helpers. Nothing here ever parses HTML: every piece of
// data ends up in a text node or an attribute value.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Create an HTML element: h('div', {class: 'x', testid: 'y'}, child, 'text', ...). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

/** Create an SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  appendAll(el, children);
  return el;
}

// ---------------------------------------------------------------- statuses

export const RUN_STATUSES = ['scheduled', 'running', 'stopping', 'succeeded', 'failed', 'aborted', 'stopped'];
export const TASK_STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'skipped',
  'stopped', 'aborted', 'cancelled'];
const TERMINAL = new Set(['succeeded', 'failed', 'skipped', 'stopped', 'aborted', 'cancelled']);
export const isTerminal = (status) => TERMINAL.has(status);
export const isActive = (status) => status === 'running' || status === 'stopping';

export function statusRank(status) {
  if (TERMINAL.has(status)) return 3;
  if (status === 'running' || status === 'stopping') return 2;
  if (status === 'queued') return 1;
  return 0;
}

/** The CSS class carrying a status's colours. */
export function statusClass(status) {
  const known = new Set([...RUN_STATUSES, ...TASK_STATUSES]);
  return 'st-' + (known.has(status) ? status : 'unknown');
}

export function badge(status, attrs = {}) {
  const word = status || 'unknown';
  const cls = 'badge ' + statusClass(word) + (attrs.class ? ' ' + attrs.class : '');
  return h('span', { ...attrs, class: cls, title: attrs.title || word },
    h('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'badge-text' }, word));
}

export function setBadge(el, status) {
  const word = status || 'unknown';
  const extra = [...el.classList].filter((c) => !c.startsWith('st-') && c !== 'badge');
  el.className = ['badge', statusClass(word), ...extra].join(' ');
  el.title = word;
  const text = el.querySelector('.badge-text');
  if (text) text.textContent = word;
}

// ---------------------------------------------------------------- time

let serverOffsetMs = 0;
/** Called with each API response's Date header: corrects a browser clock that is off. */
export function noteServerDate(dateHeader) {
  if (!dateHeader) return;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return;
  const offset = server - Date.now();
  // The header has one-second resolution: only a real skew is worth correcting.
  serverOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
}
export const now = () => Date.now() + serverOffsetMs;

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const shortFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const longFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  second: '2-digit', timeZoneName: 'short',
});

/** "Dec 5, 14:03:12" in the browser's local time. */
export function fmtTime(iso) {
  const t = parseTime(iso);
  return t === null ? '—' : shortFmt.format(t);
}
export function fmtClock(iso) {
  const t = parseTime(iso);
  return t === null ? '—' : timeFmt.format(t);
}
export function fmtTimeLong(iso) {
  const t = parseTime(iso);
  return t === null ? '' : longFmt.format(t);
}

/** "1.2 s", "42 s", "3 min 4 s", "2 h 5 min", "3 d 4 h". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const sec = Math.max(0, seconds);
  if (sec < 10) return `${(Math.floor(sec * 10) / 10).toFixed(1)} s`;
  if (sec < 60) return `${Math.floor(sec)} s`;
  const total = Math.floor(sec);
  if (total < 3600) {
    const m = Math.floor(total / 60), s2 = total % 60;
    return s2 ? `${m} min ${s2} s` : `${m} min`;
  }
  if (total < 86400) {
    const hh = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60);
    return m ? `${hh} h ${m} min` : `${hh} h`;
  }
  const d = Math.floor(total / 86400), hh = Math.floor((total % 86400) / 3600);
  return hh ? `${d} d ${hh} h` : `${d} d`;
}

/** Seconds between two ISO times; a missing end means "until now". */
export function spanSeconds(startIso, endIso) {
  const a = parseTime(startIso);
  if (a === null) return null;
  const b = endIso ? parseTime(endIso) : now();
  return b === null ? null : Math.max(0, (b - a) / 1000);
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function fmtRelative(iso) {
  const t = parseTime(iso);
  if (t === null) return '—';
  const diff = (now() - t) / 1000;
  const abs = Math.abs(diff);
  let text;
  if (abs < 5) return diff >= 0 ? 'just now' : 'in a moment';
  if (abs < 60) text = `${Math.floor(abs)} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)} h`;
  else if (abs < 86400 * 45) text = `${Math.floor(abs / 86400)} d`;
  else return fmtTime(iso);
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A <time> element showing a relative time, with the absolute one on hover. Updated by tickTimes(). */
export function relTime(iso, attrs = {}) {
  const el = h('time', { ...attrs, class: 'reltime' + (attrs.class ? ' ' + attrs.class : '') });
  if (iso) {
    el.dateTime = iso;
    el.title = fmtTimeLong(iso);
    el.dataset.rel = iso;
  }
  el.textContent = fmtRelative(iso);
  return el;
}

/** A span with a duration; one without an end that is still active ticks (see tickTimes). */
export function liveDuration(span, attrs = {}) {
  const el = h('span', { ...attrs, class: 'duration' + (attrs.class ? ' ' + attrs.class : '') });
  setDuration(el, span);
  return el;
}
/** span = {start, end, duration, active}: active defaults to "has no end". */
export function setDuration(el, { start, end, duration, active }) {
  delete el.dataset.liveStart;
  const running = active === undefined ? !end : active;
  if (end && duration !== null && duration !== undefined) {
    el.textContent = fmtDuration(duration);
  } else if (start && end) {
    el.textContent = fmtDuration(spanSeconds(start, end));
  } else if (start && running) {
    el.dataset.liveStart = start;
    el.textContent = fmtDuration(spanSeconds(start, null));
  } else if (duration !== null && duration !== undefined) {
    el.textContent = fmtDuration(duration);
  } else {
    el.textContent = '—';
  }
}

/** Refresh every live duration and relative time under root. */
export function tickTimes(root) {
  for (const el of root.querySelectorAll('[data-live-start]')) {
    el.textContent = fmtDuration(spanSeconds(el.dataset.liveStart, null));
  }
  for (const el of root.querySelectorAll('[data-rel]')) {
    const text = fmtRelative(el.dataset.rel);
    if (el.textContent !== text) el.textContent = text;
  }
}

// ---------------------------------------------------------------- misc

/** "by schedule NAME", linking to the schedules page (for a run a schedule started). */
export function scheduleLabel(run, attrs = {}) {
  if (!run || !run.schedule) return null;
  const tick = run.schedule_tick ? ` for its tick of ${fmtTimeLong(run.schedule_tick)}` : '';
  return h('a', {
    ...attrs,
    class: 'sched-label' + (attrs.class ? ' ' + attrs.class : ''),
    href: '/schedules#' + encodeURIComponent(run.schedule),
    title: `Started by the schedule ${run.schedule}${tick}`,
  },
  h('span', { class: 'icon icon-clock', 'aria-hidden': 'true' }),
  h('span', null, 'by schedule'),
  h('span', { class: 'sched-label-name' }, run.schedule));
}

export const shortId = (id) => (id || '').slice(0, 8);

export function firstLine(text) {
  const line = (text || '').split('\n').map((l) => l.trim()).find((l) => l);
  return line || '';
}

export function plural(n, word, many) {
  return `${n} ${n === 1 ? word : (many || word + 's')}`;
}

export function copyButton(value, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'btn-icon', title: label, 'aria-label': label },
    h('span', { class: 'icon icon-copy', 'aria-hidden': 'true' }));
  btn.addEventListener('click', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    try {
      await navigator.clipboard.writeText(value);
      btn.classList.add('copied');
      btn.title = 'Copied';
      setTimeout(() => { btn.classList.remove('copied'); btn.title = label; }, 1200);
    } catch { /* clipboard not available (plain http): nothing to do */ }
  });
  return btn;
}

/** A blank-state block: title, a line of text, optional extra nodes. */
export function emptyState(title, text, extra, attrs = {}) {
  return h('div', { ...attrs, class: 'empty' },
    h('div', { class: 'empty-icon', 'aria-hidden': 'true' }),
    h('div', { class: 'empty-title' }, title),
    text ? h('div', { class: 'empty-text' }, text) : null,
    extra || null);
}

export function errorBox(message, attrs = {}) {
  return h('div', { role: 'alert', ...attrs, class: 'alert alert-error' + (attrs.class ? ' ' + attrs.class : '') },
    h('span', { class: 'alert-icon', 'aria-hidden': 'true' }, '!'),
    h('span', { class: 'alert-text' }, message));
}

export function spinner(text = 'Loading…') {
  return h('div', { class: 'loading' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), text);
}

let toastHost = null;
export function toast(message, kind = 'info') {
  if (!toastHost) {
    toastHost = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(toastHost);
  }
  const el = h('div', { class: `toast toast-${kind}`, testid: 'toast' }, message);
  toastHost.append(el);
  setTimeout(() => el.classList.add('leaving'), 4200);
  setTimeout(() => el.remove(), 4600);
}

/** In-page confirmation: resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', cancelLabel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: 'btn ' + (danger ? 'btn-danger' : 'btn-primary'), testid: 'confirm-ok' }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn', testid: 'confirm-cancel' }, cancelLabel);
    const dlg = h('dialog', { class: 'modal', testid: 'confirm-dialog', 'aria-labelledby': 'modal-title' },
      h('div', { class: 'modal-body' },
        h('h2', { class: 'modal-title', id: 'modal-title' }, title),
        h('p', { class: 'modal-text' }, message)),
      h('div', { class: 'modal-actions' }, cancel, ok));
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(value);
    };
    ok.addEventListener('click', () => finish(true));
    cancel.addEventListener('click', () => finish(false));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });
    dlg.addEventListener('click', (e) => { if (e.target === dlg) finish(false); });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
