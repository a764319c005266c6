// Connected workers, refreshed every 5 seconds.

import { api, isAbort } from '../api.js';
import { h, replace, relTime, tickTimes, parseTime, now, emptyState, errorBox, spinner, plural } from '../util.js';

const STALE_S = 30;

export function renderWorkers(ctx) {
  ctx.setTitle('Workers');
  const updated = h('span', { class: 'muted' });
  const stats = h('div', { class: 'stats' });
  const message = h('div');
  const body = h('div', { class: 'card' }, spinner());
  replace(ctx.root, h('div', { class: 'page', testid: 'workers-page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { class: 'page-title' }, 'Workers'),
        h('p', { class: 'page-sub' }, 'Processes that run tasks, and the queues they take tasks from.')),
      h('div', { class: 'page-actions' }, h('span', { class: 'live-pill' }, h('span', { class: 'live-dot' }), 'Auto-refresh 5 s'), updated)),
    stats, message, body));

  let lastLoad = null;

  function stat(label, value, sub) {
    return h('div', { class: 'stat card' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);
  }

  function render(workers) {
    const slots = workers.reduce((a, w) => a + (w.slots || 0), 0);
    const busy = workers.reduce((a, w) => a + (w.running || 0), 0);
    const queues = new Set(workers.flatMap((w) => w.queues || []));
    replace(stats,
      stat('Workers', String(workers.length), workers.length ? `on ${plural(new Set(workers.map((w) => w.host)).size, 'host')}` : 'none connected'),
      stat('Busy slots', `${busy} / ${slots}`, slots ? `${Math.round((busy / slots) * 100)}% in use` : '—'),
      stat('Queues', String(queues.size), [...queues].sort().join(', ') || '—'));
    if (!workers.length) {
      replace(body, emptyState('No workers connected', 'Start one and it shows up here within a few seconds.',
        h('code', { class: 'hint-code' }, 'lfctl worker start --queues task'), { testid: 'workers-empty' }));
      return;
    }
    const rows = workers.slice().sort((a, b) => (a.host || '').localeCompare(b.host || '') || String(a.id).localeCompare(String(b.id)))
      .map((w) => {
        const seen = parseTime(w.last_seen);
        const stale = seen !== null && (now() - seen) / 1000 > STALE_S;
        const slotsN = w.slots || 0;
        const running = w.running || 0;
        const fill = h('div', { class: 'slotbar-fill' + (running >= slotsN && slotsN ? ' full' : '') });
        fill.style.width = `${slotsN ? Math.min(100, (running / slotsN) * 100) : 0}%`;
        return h('tr', { testid: 'worker-row', 'data-worker-id': w.id },
          h('td', null, h('div', { class: 'worker-id' },
            h('span', { class: 'presence' + (stale ? ' stale' : ''), title: stale ? 'Not seen recently' : 'Online' }),
            h('span', { class: 'mono ellipsis', title: w.id }, w.id))),
          h('td', { title: w.host }, w.host || '—'),
          h('td', { class: 'mono num' }, w.pid === null || w.pid === undefined ? '—' : String(w.pid)),
          h('td', null, h('div', { class: 'chips' }, (w.queues || []).map((q) => h('span', { class: 'chip mono' }, q)))),
          h('td', { class: 'col-slots' },
            h('div', { class: 'slots' },
              h('div', { class: 'slotbar', role: 'img', 'aria-label': `${running} of ${slotsN} slots busy` }, fill),
              h('span', { class: 'slots-text num' }, `${running} / ${slotsN}`))),
          h('td', { class: stale ? 'text-stopped' : '' }, relTime(w.last_seen)));
      });
    replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table workers-table', testid: 'workers-table' },
      h('thead', null, h('tr', null,
        h('th', null, 'Worker'), h('th', null, 'Host'), h('th', { class: 'num' }, 'PID'), h('th', null, 'Queues'),
        h('th', null, 'Slots used'), h('th', null, 'Last seen'))),
      h('tbody', null, rows))));
  }

  async function load() {
    try {
      const data = await api('/workers', { signal: ctx.signal });
      if (!ctx.alive()) return;
      replace(message);
      lastLoad = new Date().toISOString();
      render(data.workers || []);
      updated.textContent = 'updated just now';
    } catch (e) {
      if (isAbort(e) || !ctx.alive()) return;
      replace(message, errorBox(e.message, { testid: 'workers-error' }));
      if (body.querySelector('.loading')) replace(body);
    }
  }

  load();
  ctx.every(5000, load);
  ctx.every(1000, () => {
    tickTimes(body);
    if (lastLoad) {
      const s = Math.round((Date.now() - Date.parse(lastLoad)) / 1000);
      updated.textContent = s < 2 ? 'updated just now' : `updated ${s} s ago`;
    }
  });
}
