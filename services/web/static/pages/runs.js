// The runs list: filters, a page of runs, live updates from /api/v1/events.

import { api, isAbort, openStream } from '../api.js';
import {
  h, replace, badge, relTime, liveDuration, tickTimes, shortId, RUN_STATUSES, isActive,
  emptyState, errorBox, spinner, scheduleLabel,
} from '../util.js';

const LIMIT = 50;

export function renderRuns(ctx) {
  ctx.setTitle('Runs');
  const state = {
    status: ctx.query.get('status') || '',
    workflow: ctx.query.get('workflow') || '',
    token: '', // the current page's token
    prev: [], // tokens of the pages before this one
    next: '',
    rows: new Map(), // run id → <tr>
    loadSeq: 0,
  };

  // ---- layout
  const statusSel = h('select', { class: 'select', testid: 'filter-status', id: 'filter-status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'All statuses'),
    RUN_STATUSES.map((st) => h('option', { value: st }, st[0].toUpperCase() + st.slice(1))));
  statusSel.value = state.status;
  const wfSel = h('select', { class: 'select', testid: 'filter-workflow', id: 'filter-workflow', 'aria-label': 'Workflow' },
    h('option', { value: '' }, 'All workflows'));
  if (state.workflow) wfSel.append(h('option', { value: state.workflow }, state.workflow));
  wfSel.value = state.workflow;
  const clearBtn = h('button', { type: 'button', class: 'btn btn-link', testid: 'filter-clear' }, 'Clear filters');
  const live = h('span', { class: 'live-pill', title: 'Runs update as they change' }, h('span', { class: 'live-dot' }), 'Live');
  const pageLabel = h('span', { class: 'pager-label' });
  const prevBtn = h('button', { type: 'button', class: 'btn btn-sm', testid: 'page-prev' }, '‹ Newer');
  const nextBtn = h('button', { type: 'button', class: 'btn btn-sm', testid: 'page-next' }, 'Older ›');
  const body = h('div', { class: 'table-wrap' }, spinner());
  const message = h('div');

  const page = h('div', { class: 'page', testid: 'runs-page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { class: 'page-title' }, 'Runs'),
        h('p', { class: 'page-sub' }, 'Every workflow run, newest first.')),
      h('div', { class: 'page-actions' }, live,
        h('a', { class: 'btn btn-primary', href: '/workflows', testid: 'runs-start' }, '+ Start a run'))),
    h('div', { class: 'card' },
      h('div', { class: 'toolbar' },
        h('label', { class: 'toolbar-field' }, h('span', { class: 'toolbar-label' }, 'Status'), statusSel),
        h('label', { class: 'toolbar-field' }, h('span', { class: 'toolbar-label' }, 'Workflow'), wfSel),
        clearBtn),
      message,
      body,
      h('div', { class: 'card-foot pager' }, pageLabel, h('div', { class: 'pager-buttons' }, prevBtn, nextBtn))));
  replace(ctx.root, page);

  const syncClear = () => { clearBtn.hidden = !state.status && !state.workflow; };
  syncClear();

  // ---- workflows for the filter
  api('/workflows', { signal: ctx.signal }).then((data) => {
    if (!ctx.alive()) return;
    const names = (data.workflows || []).map((w) => w.name).sort((a, b) => a.localeCompare(b));
    if (state.workflow && !names.includes(state.workflow)) names.unshift(state.workflow);
    replace(wfSel, h('option', { value: '' }, 'All workflows'), names.map((n) => h('option', { value: n }, n)));
    wfSel.value = state.workflow;
  }).catch((e) => { if (!isAbort(e)) console.warn('workflows:', e.message); });

  // ---- rows
  function runMatches(run) {
    return (!state.status || run.status === state.status) && (!state.workflow || run.workflow === state.workflow);
  }

  function makeRow(run) {
    const href = `/runs/${encodeURIComponent(run.id)}`;
    const failure = run.failure ? `${run.failure.type}: ${run.failure.message}` : '';
    const tr = h('tr', { testid: 'run-row', 'data-run-id': run.id, 'data-status': run.status, class: 'row-link' },
      h('td', { class: 'col-status' }, badge(run.status, { testid: 'run-row-status' })),
      h('td', { class: 'col-workflow' },
        h('a', { class: 'cell-title ellipsis', href, title: run.workflow }, run.workflow),
        scheduleLabel(run, { class: 'cell-sched', testid: 'run-row-schedule' }),
        failure ? h('div', { class: 'cell-sub text-failed ellipsis', title: failure }, failure) : null),
      h('td', { class: 'col-id' },
        h('a', { class: 'mono id-link', href, title: run.id, testid: 'run-link' }, shortId(run.id)),
        run.keep_data ? h('span', { class: 'tag', title: 'Started with keep_data: its data is kept' }, 'kept') : null),
      h('td', { class: 'col-started' }, run.status === 'scheduled' && run.start_at && !run.started_at
        ? h('span', { class: 'muted', title: 'Starts by itself then' }, 'starts ', relTime(run.start_at))
        : relTime(run.started_at)),
      h('td', { class: 'col-duration num' }, liveDuration({
        start: run.started_at, end: run.ended_at, duration: run.duration_s, active: isActive(run.status),
      })));
    tr.addEventListener('click', (e) => {
      if (e.target.closest('a, button')) return;
      if (window.getSelection && String(window.getSelection())) return; // selecting text
      ctx.navigate(href);
    });
    return tr;
  }

  let tbody = null;

  function renderTable(runs) {
    state.rows.clear();
    if (!runs.length) {
      tbody = null;
      const filtered = state.status || state.workflow;
      replace(body, emptyState(
        filtered ? 'No runs match these filters' : 'No runs yet',
        filtered ? 'Try another status or workflow, or clear the filters.' : 'Start a workflow and its runs show up here as they happen.',
        filtered ? null : h('a', { class: 'btn btn-primary', href: '/workflows' }, 'Browse workflows'),
        { testid: 'runs-empty' }));
      return;
    }
    tbody = h('tbody');
    for (const run of runs) {
      const tr = makeRow(run);
      state.rows.set(run.id, tr);
      tbody.append(tr);
    }
    replace(body, h('table', { class: 'table runs-table', testid: 'runs-table' },
      h('thead', null, h('tr', null,
        h('th', { class: 'col-status' }, 'Status'),
        h('th', { class: 'col-workflow' }, 'Workflow'),
        h('th', { class: 'col-id' }, 'Run'),
        h('th', { class: 'col-started' }, 'Started'),
        h('th', { class: 'col-duration num' }, 'Duration'))),
      tbody));
  }

  function syncPager() {
    prevBtn.disabled = state.prev.length === 0;
    nextBtn.disabled = !state.next;
    pageLabel.textContent = `Page ${state.prev.length + 1}`;
  }

  async function load() {
    const seq = ++state.loadSeq;
    const q = new URLSearchParams({ limit: String(LIMIT) });
    if (state.status) q.set('status', state.status);
    if (state.workflow) q.set('workflow', state.workflow);
    if (state.token) q.set('page_token', state.token);
    prevBtn.disabled = true;
    nextBtn.disabled = true;
    body.classList.add('is-loading');
    try {
      const data = await api('/runs?' + q, { signal: ctx.signal });
      if (!ctx.alive() || seq !== state.loadSeq) return;
      replace(message);
      state.next = data.next_page_token || '';
      renderTable(data.runs || []);
    } catch (e) {
      if (isAbort(e) || !ctx.alive() || seq !== state.loadSeq) return;
      replace(message, errorBox(e.message, { testid: 'runs-error' }));
      if (!tbody) replace(body);
    } finally {
      if (seq === state.loadSeq) {
        body.classList.remove('is-loading');
        syncPager();
      }
    }
  }

  function syncUrl() {
    const q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    if (state.workflow) q.set('workflow', state.workflow);
    const url = location.pathname + (q.toString() ? '?' + q : '');
    history.replaceState(null, '', url);
  }

  function filtersChanged() {
    state.status = statusSel.value;
    state.workflow = wfSel.value;
    state.token = '';
    state.prev = [];
    syncUrl();
    syncClear();
    load();
  }
  statusSel.addEventListener('change', filtersChanged);
  wfSel.addEventListener('change', filtersChanged);
  clearBtn.addEventListener('click', () => {
    statusSel.value = '';
    wfSel.value = '';
    filtersChanged();
  });
  nextBtn.addEventListener('click', () => {
    if (!state.next) return;
    state.prev.push(state.token);
    state.token = state.next;
    load();
    window.scrollTo(0, 0);
  });
  prevBtn.addEventListener('click', () => {
    if (!state.prev.length) return;
    state.token = state.prev.pop();
    load();
    window.scrollTo(0, 0);
  });

  // ---- live updates
  function onRun(run) {
    if (!run || !run.id) return;
    const existing = state.rows.get(run.id);
    if (existing) {
      if (!runMatches(run)) {
        // e.g. a run that ended while the list shows only running ones
        existing.classList.add('row-leaving');
        setTimeout(() => existing.remove(), 400);
        state.rows.delete(run.id);
        return;
      }
      const tr = makeRow(run);
      existing.replaceWith(tr);
      state.rows.set(run.id, tr);
      if (existing.dataset.status !== run.status) {
        tr.classList.add('row-flash');
      }
      return;
    }
    if (state.prev.length || !runMatches(run)) return; // new rows appear on the first page only
    if (!tbody) {
      renderTable([run]);
      state.rows.get(run.id).classList.add('row-new');
      return;
    }
    // newest first: place it by its start time
    // (The page may grow past LIMIT rows: the next page's token still starts where it did.)
    const started = Date.parse(run.started_at) || Infinity;
    let before = null;
    for (const row of tbody.children) {
      if (row.dataset.status === 'scheduled') continue; // not started: no start time to go by
      const other = row.querySelector('time');
      if (other && other.dateTime && Date.parse(other.dateTime) < started) { before = row; break; }
    }
    // Older than every row here, while older pages exist: it belongs on one of those.
    if (!before && state.next) return;
    const tr = makeRow(run);
    tr.classList.add('row-new');
    tbody.insertBefore(tr, before);
    state.rows.set(run.id, tr);
  }

  const stream = openStream('/events', {
    onMessage: (msg) => { if (msg && msg.type === 'run') onRun(msg.run); },
    onState: (st) => {
      live.classList.toggle('off', st !== 'live');
      live.lastChild.textContent = st === 'live' ? 'Live' : 'Reconnecting…';
    },
    // Changes made while the stream was down are not replayed: read the page again.
    onReconnect: () => { if (!state.prev.length) load(); },
  });
  ctx.onCleanup(() => stream.close());
  ctx.every(1000, () => tickTimes(body));

  load();
}
