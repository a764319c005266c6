// Schedules: what starts runs by itself, when it next does, and pause, resume or run now.

import { api, isAbort } from '../api.js';
import {
  h, replace, relTime, tickTimes, fmtTime, fmtTimeLong, fmtDuration, parseTime, now, shortId,
  emptyState, errorBox, spinner, toast,
} from '../util.js';

const REFRESH_MS = 5000;

const OVERLAP = {
  skip: 'A tick while the previous run goes on starts nothing',
  allow: 'A tick starts a run even while the previous one goes on',
  queue: 'A tick while the previous run goes on starts once that run ends',
};
const CATCH_UP = {
  none: 'Ticks missed while no scheduler ran start nothing',
  last: 'Of the ticks missed while no scheduler ran, the latest starts a run',
  all: 'Every tick missed while no scheduler ran starts a run',
};

/** "30 s", "1.5 s", "5 min", "2 h". */
function fmtSeconds(seconds) {
  const n = Number(seconds) || 0;
  if (n < 60) return `${Number.isInteger(n) ? n : Math.round(n * 10) / 10} s`;
  return fmtDuration(n);
}

/** "0 3 * * *" (Europe/Berlin), or "every 30 s". */
function when(schedule) {
  if (schedule.cron) {
    const zone = schedule.timezone || 'UTC';
    return h('span', { class: 'sched-when', title: `Cron expression, in ${zone} time` },
      h('code', { class: 'cron' }, schedule.cron), ' ', h('span', { class: 'muted' }, `(${zone})`));
  }
  if (schedule.interval_s) {
    return h('span', { class: 'sched-when', title: `Every ${fmtSeconds(schedule.interval_s)}` },
      `every ${fmtSeconds(schedule.interval_s)}`);
  }
  return h('span', { class: 'muted' }, '—');
}

function policies(schedule) {
  const parts = [`overlap ${schedule.overlap || 'skip'}`, `catch-up ${schedule.catch_up || 'none'}`];
  if (schedule.jitter_s) parts.push(`jitter ≤ ${fmtSeconds(schedule.jitter_s)}`);
  const title = [OVERLAP[schedule.overlap], CATCH_UP[schedule.catch_up],
    schedule.jitter_s ? `Each run starts up to ${fmtSeconds(schedule.jitter_s)} after its tick` : null]
    .filter(Boolean).join('. ');
  return h('div', { class: 'cell-sub muted ellipsis', title: title || null }, parts.join(' · '));
}

function argumentsLine(args) {
  const names = Object.keys(args || {});
  if (!names.length) return h('div', { class: 'cell-sub muted' }, 'no arguments');
  const text = names.map((n) => `${n}=${args[n]}`).join(' ');
  return h('div', { class: 'cell-sub muted ellipsis', title: text }, text);
}

function stateBadge(paused) {
  const word = paused ? 'paused' : 'active';
  return h('span', {
    class: `badge st-sched-${word}`, testid: 'schedule-state',
    title: paused ? 'Paused: its ticks start nothing until it is resumed' : 'Active: each tick starts a run',
  },
  h('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
  h('span', { class: 'badge-text' }, word));
}

function nextTick(schedule) {
  if (schedule.paused) {
    return [h('span', { class: 'muted', title: 'Paused: no tick until it is resumed' }, '—')];
  }
  if (!schedule.next_tick) {
    const ended = parseTime(schedule.end_at);
    const over = ended !== null && ended <= now();
    return [h('span', { class: 'muted', title: over ? `Its last tick was due by ${fmtTimeLong(schedule.end_at)}` : 'No tick to come' }, '—'),
      over ? h('div', { class: 'cell-sub muted' }, `ended ${fmtTime(schedule.end_at)}`) : null];
  }
  return [relTime(schedule.next_tick, { testid: 'schedule-next' }),
    h('div', { class: 'cell-sub muted', title: fmtTimeLong(schedule.next_tick) }, fmtTime(schedule.next_tick))];
}

function lastTick(schedule) {
  const run = schedule.last_run_id
    ? h('a', { class: 'mono id-link', href: `/runs/${encodeURIComponent(schedule.last_run_id)}`, title: `Run ${schedule.last_run_id}`, testid: 'schedule-last-run' },
      shortId(schedule.last_run_id))
    : null;
  if (!schedule.last_tick) {
    return h('div', { class: 'sched-last' }, run || h('span', { class: 'muted', title: 'No tick has started a run yet' }, 'never'));
  }
  return h('div', { class: 'sched-last' }, relTime(schedule.last_tick), run);
}

export function renderSchedules(ctx) {
  ctx.setTitle('Schedules');
  const count = h('span', { class: 'page-count' });
  const updated = h('span', { class: 'muted' });
  const message = h('div'); // a failed refresh
  const actionMessage = h('div'); // a failed pause, resume or run now
  const body = h('div', { class: 'card' }, spinner('Loading schedules…'));
  replace(ctx.root, h('div', { class: 'page', testid: 'schedules-page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { class: 'page-title' }, 'Schedules', count),
        h('p', { class: 'page-sub' }, 'Workflows that start by themselves: on a cron expression in a time zone, or every so often.')),
      h('div', { class: 'page-actions' }, h('span', { class: 'live-pill' }, h('span', { class: 'live-dot' }), 'Auto-refresh 5 s'), updated)),
    message, actionMessage, body));

  const rows = new Map(); // name → {tr, key}
  const busy = new Set(); // names with an action under way
  let tbody = null;
  let lastLoad = null;
  let loadSeq = 0;
  let targeted = false;

  function makeRow(schedule) {
    const name = schedule.name;
    const wfHref = `/workflows/${encodeURIComponent(schedule.workflow)}`;
    const toggle = schedule.paused
      ? h('button', { type: 'button', class: 'btn btn-sm', testid: 'schedule-resume', title: 'Tick again, from the next tick after now' },
        h('span', { class: 'icon icon-play', 'aria-hidden': 'true' }), 'Resume')
      : h('button', { type: 'button', class: 'btn btn-sm', testid: 'schedule-pause', title: 'Start nothing until resumed' },
        h('span', { class: 'icon icon-pause', 'aria-hidden': 'true' }), 'Pause');
    toggle.addEventListener('click', () => act(name, schedule.paused ? 'resume' : 'pause'));
    const trigger = h('button', { type: 'button', class: 'btn btn-sm btn-primary', testid: 'schedule-trigger', title: `Start a run of ${schedule.workflow} now, besides the ticks` }, 'Run now');
    trigger.addEventListener('click', () => act(name, 'trigger'));
    if (busy.has(name)) { toggle.disabled = true; trigger.disabled = true; }
    return h('tr', {
      testid: 'schedule-row', 'data-schedule': name, 'data-state': schedule.paused ? 'paused' : 'active',
      class: schedule.paused ? 'is-paused' : null,
    },
    h('td', { class: 'col-name' },
      h('span', { class: 'cell-title ellipsis', title: name, testid: 'schedule-name' }, name),
      argumentsLine(schedule.arguments)),
    h('td', { class: 'col-workflow' }, h('a', { class: 'mono ellipsis', href: wfHref, title: schedule.workflow, testid: 'schedule-workflow' }, schedule.workflow)),
    h('td', { class: 'col-when' }, when(schedule), policies(schedule)),
    h('td', { class: 'col-next' }, nextTick(schedule)),
    h('td', { class: 'col-last' }, lastTick(schedule)),
    h('td', { class: 'col-state' }, stateBadge(schedule.paused)),
    h('td', { class: 'col-actions' }, h('div', { class: 'row-actions' }, toggle, trigger)));
  }

  /** Show one schedule's current state, keeping rows that did not change as they are. */
  function putRow(schedule) {
    const key = JSON.stringify(schedule) + (busy.has(schedule.name) ? ' busy' : '');
    const had = rows.get(schedule.name);
    if (had && had.key === key) return had.tr;
    const tr = makeRow(schedule);
    if (had) {
      had.tr.replaceWith(tr);
      if (had.paused !== schedule.paused) tr.classList.add('row-flash');
    }
    rows.set(schedule.name, { tr, key, schedule, paused: schedule.paused });
    return tr;
  }

  function render(schedules) {
    count.textContent = schedules.length ? String(schedules.length) : '';
    if (!schedules.length) {
      rows.clear();
      tbody = null;
      replace(body, emptyState('No schedules yet',
        'A schedule starts a workflow on a cron expression or every so often. Make one with lfctl:',
        h('code', { class: 'hint-code' }, "lfctl schedule create NAME WORKFLOW --cron '0 3 * * *' --tz Europe/Berlin"),
        { testid: 'schedules-empty' }));
      return;
    }
    const sorted = schedules.slice().sort((a, b) => a.name.localeCompare(b.name));
    const names = new Set(sorted.map((s) => s.name));
    for (const [name, row] of rows) {
      if (!names.has(name)) { row.tr.remove(); rows.delete(name); }
    }
    if (!tbody) {
      rows.clear();
      tbody = h('tbody');
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table schedules-table', testid: 'schedules-table' },
        h('thead', null, h('tr', null,
          h('th', { class: 'col-name' }, 'Schedule'),
          h('th', { class: 'col-workflow' }, 'Workflow'),
          h('th', { class: 'col-when' }, 'When'),
          h('th', { class: 'col-next' }, 'Next tick'),
          h('th', { class: 'col-last' }, 'Last tick'),
          h('th', { class: 'col-state' }, 'State'),
          h('th', { class: 'col-actions' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        tbody)));
    }
    sorted.forEach((schedule, i) => {
      const tr = putRow(schedule);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    });
    if (!targeted && location.hash.length > 1) {  // /schedules#name: that one, highlighted
      targeted = true;
      let wanted = location.hash.slice(1);
      try { wanted = decodeURIComponent(wanted); } catch { /* as it is */ }
      const row = rows.get(wanted);
      if (row) {
        row.tr.classList.add('row-new');
        row.tr.scrollIntoView({ block: 'center' });
      }
    }
  }

  async function load() {
    const seq = ++loadSeq;
    try {
      const data = await api('/schedules', { signal: ctx.signal });
      if (!ctx.alive() || seq !== loadSeq) return;
      replace(message);
      lastLoad = Date.now();
      updated.textContent = 'updated just now';
      render(data.schedules || []);
    } catch (e) {
      if (isAbort(e) || !ctx.alive() || seq !== loadSeq) return;
      replace(message, errorBox(e.message, { testid: 'schedules-error' }));
      if (body.querySelector('.loading')) replace(body);
    }
  }

  async function act(name, action) {
    if (busy.has(name)) return;
    busy.add(name);
    const row = rows.get(name);
    if (row) putRow(row.schedule);
    replace(actionMessage);
    try {
      const res = await api(`/schedules/${encodeURIComponent(name)}/${action}`, { method: 'POST', body: {} });
      if (!ctx.alive()) return;
      busy.delete(name);
      if (action === 'trigger') {
        toast(`Started a run of ${name}`, 'info');
        ctx.navigate(`/runs/${encodeURIComponent(res.id)}`);
        return;
      }
      loadSeq += 1; // an answer to a load begun before this one is out of date
      if (res && res.name && rows.has(name)) putRow(res);
    } catch (e) {
      if (isAbort(e) || !ctx.alive()) return;
      busy.delete(name);
      const verb = { pause: 'pause', resume: 'resume', trigger: 'start a run of' }[action];
      replace(actionMessage, errorBox(`Could not ${verb} ${name}: ${e.message}`, { testid: 'schedule-action-error' }));
      const current = rows.get(name);
      if (current) putRow(current.schedule);
    }
  }

  load();
  ctx.every(REFRESH_MS, load);
  ctx.every(1000, () => {
    tickTimes(body);
    if (lastLoad) {
      const s = Math.round((Date.now() - lastLoad) / 1000);
      updated.textContent = s < 2 ? 'updated just now' : `updated ${s} s ago`;
    }
  });
}
