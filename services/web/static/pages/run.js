// One run: header, failure, DAG graphs, timeline, the selected task (with its output),
// arguments and provenance; all kept current by the run's event stream.

import { api, isAbort, openStream } from '../api.js';
import { drawGraph, drawCounts, setNodeStatus, autoFit } from '../graph.js';
import {
  h, clear, replace, badge, setBadge, fmtTime, fmtTimeLong, fmtClock, fmtDuration, liveDuration,
  setDuration, tickTimes, parseTime, now, shortId, isTerminal, statusRank, statusClass,
  copyButton, confirmDialog, toast, errorBox, spinner, emptyState, plural, scheduleLabel,
} from '../util.js';

const keyOf = (instance, task) => `${instance}\n${task}`;
const MAX_LINES_KEPT = 20000;
const MAX_LINES_SHOWN = 5000;

const LEGEND = [
  ['waiting', 'Waiting'], ['queued', 'Queued'], ['running', 'Running'], ['succeeded', 'Succeeded'],
  ['failed', 'Failed'], ['stopped', 'Stopped'], ['skipped', 'Skipped'],
];

/** A Failure ({type, message, traceback}) as a block: its message, then the traceback. */
export function failureBlock(failure, attrs = {}) {
  const head = [failure.type, failure.message].filter(Boolean).join(': ');
  return h('div', { ...attrs, class: 'failure' + (attrs.class ? ' ' + attrs.class : '') },
    head ? h('div', { class: 'failure-message' }, head) : null,
    failure.traceback ? h('pre', { class: 'traceback' }, failure.traceback) : null);
}

/** Any JSON value as a tree of <details>. */
function jsonTree(value, key, depth) {
  const keyEl = key === null ? null : h('span', { class: 'jt-key' }, key);
  if (value !== null && typeof value === 'object') {
    const isArr = Array.isArray(value);
    const entries = isArr ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const summaryText = isArr ? `[${entries.length}]` : `{${entries.length}}`;
    if (!entries.length) {
      return h('div', { class: 'jt-leaf' }, keyEl, keyEl ? ': ' : null, h('span', { class: 'jt-empty' }, isArr ? '[]' : '{}'));
    }
    const det = h('details', { class: 'jt-node', open: depth < 2 },
      h('summary', null, keyEl, keyEl ? ' ' : null, h('span', { class: 'jt-count' }, summaryText)),
      h('div', { class: 'jt-children' }, entries.map(([k, v]) => jsonTree(v, k, depth + 1))));
    return det;
  }
  let cls = 'jt-val';
  let text;
  if (typeof value === 'string') { cls += ' jt-str'; text = value; } else if (value === null) { cls += ' jt-null'; text = 'null'; } else if (typeof value === 'number') { cls += ' jt-num'; text = String(value); } else if (typeof value === 'boolean') { cls += ' jt-bool'; text = String(value); } else { text = String(value); }
  return h('div', { class: 'jt-leaf' }, keyEl, keyEl ? ': ' : null, h('span', { class: cls }, text));
}

export function renderRun(ctx) {
  const runId = ctx.params[0];
  const base = `/runs/${encodeURIComponent(runId)}`;
  ctx.setTitle(`Run ${shortId(runId)}`);

  const st = {
    run: null,
    tasks: new Map(), // key → {instance, task, status, attempt, worker, queue, started_at, ended_at, failure}
    instances: [], // from /graph
    blocks: new Map(), // instance → {block, graph (drawGraph handle) | null, countsEl, headBadge, headCounts}
    dagStatus: new Map(),
    output: new Map(), // key → {lines: [{text, stream, attempt}], dropped}
    seen: new Set(),
    selected: null,
    userSelected: false,
    ended: false,
    dirty: { header: false, tasks: new Set(), timeline: false, panel: false, output: false, dags: false },
  };

  const root = h('div', { class: 'page page-wide', testid: 'run-page' }, spinner('Loading the run…'));
  replace(ctx.root, root);

  // ------------------------------------------------------------ page skeleton (built on load)
  const el = {};

  function buildPage() {
    const run = st.run;
    el.status = badge(run.status, { testid: 'run-status', class: 'badge-lg' });
    el.live = h('span', { class: 'live-pill', hidden: true }, h('span', { class: 'live-dot' }), 'Live');
    el.stop = h('button', { type: 'button', class: 'btn btn-danger-outline', testid: 'run-stop' },
      h('span', { class: 'icon icon-stop', 'aria-hidden': 'true' }), 'Stop run');
    el.stop.addEventListener('click', onStop);
    el.started = h('span', { title: fmtTimeLong(run.started_at) }, fmtTime(run.started_at));
    el.ended = h('span', null);
    el.duration = liveDuration({ start: run.started_at, end: run.ended_at, duration: run.duration_s, active: !isTerminal(run.status) }, { testid: 'run-duration' });
    el.failure = h('div', { class: 'failure-slot' });
    el.graphs = h('div', { class: 'graphs', testid: 'run-graphs' });
    el.timeline = h('div', { class: 'timeline', testid: 'timeline' });
    el.timelineRange = h('span', { class: 'card-head-note' });
    el.panel = h('div', { class: 'task-panel-body' });
    el.args = h('div');
    el.prov = h('div', { class: 'prov-body' }, spinner('Loading provenance…'));

    const wfHref = `/workflows/${encodeURIComponent(run.workflow)}`;
    const header = h('div', { class: 'card run-header' },
      h('div', { class: 'run-header-top' },
        h('div', { class: 'run-title-wrap' },
          h('div', { class: 'crumbs' }, h('a', { href: '/runs' }, 'Runs'), h('span', { class: 'crumb-sep' }, '/'),
            h('span', { class: 'mono' }, shortId(run.id))),
          h('div', { class: 'run-title-row' },
            h('h1', { class: 'run-title ellipsis', title: run.workflow, testid: 'run-workflow' },
              h('a', { href: wfHref }, run.workflow)),
            el.status, el.live,
            scheduleLabel(run, { class: 'sched-label-pill', testid: 'run-schedule' }))),
        h('div', { class: 'run-actions' },
          h('a', { class: 'btn', href: wfHref + '#start', testid: 'run-again' }, 'Start again'),
          el.stop)),
      h('dl', { class: 'meta-grid' },
        h('div', null, h('dt', null, 'Run ID'), h('dd', { class: 'mono id-full' }, h('span', { class: 'ellipsis', testid: 'run-id' }, run.id), copyButton(run.id, 'Copy run ID'))),
        h('div', null, h('dt', null, 'Started'), h('dd', null, el.started)),
        h('div', null, h('dt', null, 'Ended'), h('dd', null, el.ended)),
        h('div', null, h('dt', null, 'Duration'), h('dd', { class: 'num' }, el.duration)),
        h('div', null, h('dt', null, 'Keep data'), h('dd', null, run.keep_data ? 'Yes' : 'No'))));

    const legend = h('div', { class: 'legend', testid: 'status-legend' },
      LEGEND.map(([stt, label]) => h('span', { class: 'legend-item ' + statusClass(stt) },
        h('span', { class: 'legend-swatch', 'aria-hidden': 'true' }), label)));

    const taskCard = h('section', { class: 'card task-panel', testid: 'task-panel', 'aria-label': 'Selected task' }, el.panel);

    replace(root,
      header,
      el.failure,
      h('div', { class: 'run-grid' },
        h('div', { class: 'run-main' },
          h('section', { class: 'card', 'aria-labelledby': 'graph-title' },
            h('div', { class: 'card-head' }, h('h2', { class: 'card-title', id: 'graph-title' }, 'Graph'), legend),
            el.graphs),
          h('section', { class: 'card', 'aria-labelledby': 'timeline-title' },
            h('div', { class: 'card-head' }, h('h2', { class: 'card-title', id: 'timeline-title' }, 'Timeline'), el.timelineRange),
            el.timeline),
          h('section', { class: 'card', 'aria-labelledby': 'args-title' },
            h('div', { class: 'card-head' }, h('h2', { class: 'card-title', id: 'args-title' }, 'Arguments')),
            el.args),
          h('details', { class: 'card card-collapsible', testid: 'run-provenance', open: true },
            h('summary', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Provenance'),
              h('span', { class: 'card-head-note' }, 'What ran, where and from which definition')),
            el.prov)),
        h('aside', { class: 'run-side' }, taskCard)));

    renderArgs();
    renderHeader();
    renderPanel();
  }

  // ------------------------------------------------------------ header and failure
  function renderHeader() {
    const run = st.run;
    setBadge(el.status, run.status);
    el.stop.hidden = run.status !== 'running' && run.status !== 'scheduled';
    if (run.status === 'scheduled' && run.start_at) {  // its start time is still to come
      el.started.textContent = `starts ${fmtTime(run.start_at)}`;
      el.started.title = fmtTimeLong(run.start_at);
    } else {
      el.started.textContent = fmtTime(run.started_at);
      el.started.title = fmtTimeLong(run.started_at);
    }
    el.ended.textContent = run.ended_at ? fmtTime(run.ended_at)
      : (isTerminal(run.status) ? '—' : run.status === 'scheduled' ? 'not started' : 'still running');
    el.ended.title = fmtTimeLong(run.ended_at);
    setDuration(el.duration, { start: run.started_at, end: run.ended_at, duration: run.duration_s, active: !isTerminal(run.status) });
    el.live.hidden = isTerminal(run.status) || !st.streamLive;
    renderFailure();
  }

  function firstFailedTask() {
    const failed = [...st.tasks.values()].filter((t) => t.status === 'failed' || t.status === 'aborted');
    failed.sort((a, b) => {
      if (a.status !== b.status) return a.status === 'failed' ? -1 : 1;
      return (parseTime(a.ended_at) ?? Infinity) - (parseTime(b.ended_at) ?? Infinity);
    });
    return failed[0] || null;
  }

  function renderFailure() {
    const run = st.run;
    const failedTask = firstFailedTask();
    const failure = run.failure || (run.status === 'failed' && failedTask ? failedTask.failure : null);
    if (!failure && run.status !== 'failed') {
      clear(el.failure);
      return;
    }
    const title = run.status === 'aborted' ? 'This run was aborted' : 'This run failed';
    const taskLink = failedTask ? h('button', {
      type: 'button', class: 'btn btn-link failure-task',
      onclick: () => select(keyOf(failedTask.instance, failedTask.task), true),
    }, `in task ${failedTask.instance} / ${failedTask.task}`) : null;
    replace(el.failure, h('section', { class: 'run-failure', testid: 'run-failure', role: 'alert' },
      h('div', { class: 'run-failure-head' },
        h('span', { class: 'run-failure-icon', 'aria-hidden': 'true' }, '!'),
        h('strong', null, title), taskLink),
      failure ? failureBlock(failure) : h('div', { class: 'muted' }, 'No failure details were recorded.')));
  }

  // ------------------------------------------------------------ arguments and provenance
  function renderArgs() {
    const args = st.run.arguments || {};
    const names = Object.keys(args);
    if (!names.length) {
      replace(el.args, h('div', { class: 'card-pad muted', testid: 'run-arguments' }, 'This run was started without arguments.'));
      return;
    }
    replace(el.args, h('table', { class: 'table table-kv', testid: 'run-arguments' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Value'))),
      h('tbody', null, names.map((n) => h('tr', { 'data-arg': n },
        h('td', { class: 'mono kv-key' }, n),
        h('td', { class: 'mono kv-val' }, args[n] === null || args[n] === undefined ? '' : String(args[n])))))));
  }

  async function loadProvenance() {
    try {
      const prov = await api(`${base}/provenance`, { signal: ctx.signal });
      if (!ctx.alive()) return;
      const empty = prov === null || (typeof prov === 'object' && !Object.keys(prov).length);
      if (empty) {
        replace(el.prov, h('div', { class: 'card-pad muted' }, 'No provenance was recorded for this run.'));
        return;
      }
      const tree = h('div', { class: 'json-tree' }, typeof prov === 'object'
        ? Object.entries(prov).map(([k, v]) => jsonTree(v, k, 0))
        : jsonTree(prov, null, 0));
      const raw = h('pre', { class: 'json-raw', hidden: true }, JSON.stringify(prov, null, 2));
      const toggle = h('button', { type: 'button', class: 'btn btn-sm', testid: 'provenance-raw' }, 'Show JSON');
      toggle.addEventListener('click', () => {
        raw.hidden = !raw.hidden;
        tree.hidden = !raw.hidden;
        toggle.textContent = raw.hidden ? 'Show JSON' : 'Show tree';
      });
      replace(el.prov, h('div', { class: 'prov-tools' }, toggle, copyButton(JSON.stringify(prov, null, 2), 'Copy JSON')), tree, raw);
    } catch (e) {
      if (isAbort(e) || !ctx.alive()) return;
      if (e.status === 404) {  // an ended run that kept no data: nothing is wrong
        replace(el.prov, h('div', { class: 'card-pad muted' },
          'Not kept: the provenance of a run goes when it ends, unless it was started with "keep data".'));
        return;
      }
      replace(el.prov, h('div', { class: 'card-pad' }, errorBox(e.message)));
    }
  }

  // ------------------------------------------------------------ tasks state
  function ensureTask(instance, task) {
    const key = keyOf(instance, task);
    let t = st.tasks.get(key);
    if (!t) {
      t = { instance, task, status: 'waiting', attempt: 0, worker: '', queue: '', started_at: null, ended_at: null, failure: null };
      st.tasks.set(key, t);
    }
    return t;
  }

  /** Merge news about a task; older attempts and out-of-date states are ignored. */
  function updateTask(instance, task, patch) {
    const t = ensureTask(instance, task);
    const attempt = patch.attempt || t.attempt;
    if (attempt < t.attempt) return false;
    if (attempt > t.attempt) {
      t.attempt = attempt;
      t.started_at = null;
      t.ended_at = null;
      t.failure = null;
    } else if (patch.status && statusRank(patch.status) < statusRank(t.status)) {
      return false; // e.g. a replayed "queued" after we know it ended
    }
    for (const [k, v] of Object.entries(patch)) {
      if (v !== undefined && k !== 'attempt') t[k] = v;
    }
    markTask(keyOf(instance, task));
    return true;
  }

  function markTask(key) {
    st.dirty.tasks.add(key);
    st.dirty.timeline = true;
    st.dirty.dags = true;
    if (key === st.selected) st.dirty.panel = true;
    schedule();
  }

  // ------------------------------------------------------------ graphs
  function instanceOrder(instances) {
    // Roots first, each followed by the instances it started (depth first).
    const byName = new Map(instances.map((i) => [i.instance, i]));
    const children = new Map();
    const roots = [];
    for (const inst of instances) {
      const parent = inst.started_by && inst.started_by.instance;
      if (parent && byName.has(parent) && parent !== inst.instance) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent).push(inst);
      } else {
        roots.push(inst);
      }
    }
    const out = [];
    const seen = new Set();
    const visit = (inst) => {
      if (seen.has(inst.instance)) return;
      seen.add(inst.instance);
      out.push(inst);
      for (const c of children.get(inst.instance) || []) visit(c);
    };
    roots.forEach(visit);
    instances.forEach(visit);
    return out;
  }

  function instanceCounts(instance) {
    const counts = {};
    for (const t of st.tasks.values()) {
      if (t.instance === instance) counts[t.status] = (counts[t.status] || 0) + 1;
    }
    return counts;
  }

  function countsText(counts) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const parts = ['running', 'queued', 'failed', 'aborted', 'stopped', 'cancelled', 'skipped', 'succeeded']
      .filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`);
    return [plural(total, 'task'), ...parts].join(' · ');
  }

  function buildBlock(inst) {
    const status = st.dagStatus.get(inst.instance) || inst.status || 'running';
    const headBadge = badge(status, { class: 'badge-sm' });
    const headCounts = h('span', { class: 'dag-counts' });
    let startedBy = null;
    if (inst.started_by) {
      const sb = inst.started_by;
      startedBy = h('span', { class: 'dag-started-by', testid: 'dag-started-by' }, 'started by ',
        h('button', {
          type: 'button', class: 'btn-link mono',
          onclick: () => select(keyOf(sb.instance, sb.task), true),
        }, `${sb.instance} / ${sb.task}`));
    }
    const title = inst.dag && inst.dag !== inst.instance
      ? [h('span', { class: 'dag-name mono' }, inst.instance), h('span', { class: 'dag-of' }, `DAG ${inst.dag}`)]
      : [h('span', { class: 'dag-name mono' }, inst.instance)];
    const canvas = h('div', { class: 'dag-canvas' });
    const block = h('div', { class: 'dag-block' + (inst.started_by ? ' dag-sub' : ''), testid: 'dag-instance', 'data-instance': inst.instance },
      h('div', { class: 'dag-head' }, h('div', { class: 'dag-head-left' }, ...title, headBadge, startedBy), headCounts),
      canvas);
    const entry = { block, canvas, graph: null, headBadge, headCounts, collapsed: Boolean(inst.collapsed) };
    fillBlock(entry, inst);
    return entry;
  }

  function fillBlock(entry, inst) {
    entry.collapsed = Boolean(inst.collapsed);
    if (inst.collapsed) {
      entry.graph = null;
      entry.counts = inst.counts || {};
      replace(entry.canvas, drawCounts(inst.counts, { instance: inst.instance }));
      entry.canvas.classList.add('is-collapsed');
    } else {
      entry.graph = drawGraph(inst, {
        instance: inst.instance,
        onSelect: (task) => select(keyOf(inst.instance, task), true),
        label: `DAG ${inst.instance}`,
      });
      for (const [task, g] of entry.graph.nodes) {
        const t = st.tasks.get(keyOf(inst.instance, task));
        if (t) setNodeStatus(g, t.status);
      }
      replace(entry.canvas, entry.graph.svg);
      autoFit(entry.graph.svg, entry.canvas);
      if (st.selected) {
        const t = st.tasks.get(st.selected);
        if (t && t.instance === inst.instance) { entry.graph.select(t.task); entry.graph.highlight(t.task); }
      }
    }
    updateBlockHead(entry, inst.instance);
  }

  function updateBlockHead(entry, instance) {
    const status = st.dagStatus.get(instance);
    if (status) setBadge(entry.headBadge, status);
    const counts = entry.collapsed ? entry.counts : instanceCounts(instance);
    entry.headCounts.textContent = countsText(counts || {});
  }

  function renderGraphs() {
    const ordered = instanceOrder(st.instances);
    if (!ordered.length) {
      replace(el.graphs, emptyState('No DAGs yet', 'The run has not started any DAG.'));
      return;
    }
    if (el.graphs.querySelector('.empty')) clear(el.graphs);
    for (const inst of ordered) {
      if (!st.blocks.has(inst.instance)) st.blocks.set(inst.instance, buildBlock(inst));
    }
    // (Re)place the blocks in order, moving only those out of place.
    let ref = el.graphs.firstChild;
    for (const inst of ordered) {
      const { block } = st.blocks.get(inst.instance);
      if (block === ref) { ref = ref.nextSibling; continue; }
      el.graphs.insertBefore(block, ref);
    }
  }

  function applyGraph(data) {
    const instances = data.instances || [];
    for (const inst of instances) {
      if (!st.dagStatus.has(inst.instance) && inst.status) st.dagStatus.set(inst.instance, inst.status);
      for (const n of inst.nodes || []) {
        const key = keyOf(inst.instance, n.task);
        if (!st.tasks.has(key)) ensureTask(inst.instance, n.task).status = n.status || 'waiting';
      }
      const entry = st.blocks.get(inst.instance);
      if (entry && (inst.collapsed || entry.collapsed !== Boolean(inst.collapsed))) fillBlock(entry, inst);
    }
    st.instances = instances;
    renderGraphs();
    st.dirty.timeline = true;
    st.dirty.dags = true;
    schedule();
  }

  let graphTimer = null;
  let graphBusy = false;
  function refreshGraphSoon(delay = 250) {
    if (graphTimer || !ctx.alive()) return;
    graphTimer = setTimeout(async () => {
      if (graphBusy) { graphTimer = null; refreshGraphSoon(1000); return; }
      graphBusy = true;
      try {
        const data = await api(`${base}/graph`, { signal: ctx.signal });
        if (ctx.alive()) applyGraph(data);
      } catch (e) {
        if (!isAbort(e)) console.warn('graph:', e.message);
      } finally {
        graphBusy = false;
        graphTimer = null;
      }
    }, delay);
  }
  ctx.onCleanup(() => clearTimeout(graphTimer));

  // ------------------------------------------------------------ timeline
  const tl = { rows: new Map(), rowsEl: null, axis: null, order: '' };

  function fmtTick(v) {
    if (v < 60) return `${v} s`;
    if (v < 3600) return v % 60 ? `${Math.floor(v / 60)} min ${v % 60} s` : `${v / 60} min`;
    const hh = Math.floor(v / 3600), m = Math.floor((v % 3600) / 60);
    return m ? `${hh} h ${m} min` : `${hh} h`;
  }

  function renderTimeline() {
    const run = st.run;
    const started = [...st.tasks.values()].filter((t) => t.started_at);
    if (!started.length) {
      tl.rows.clear();
      tl.rowsEl = null;
      tl.order = '';
      el.timelineRange.textContent = '';
      if (!el.timeline.querySelector('.empty')) {
        replace(el.timeline, emptyState('No task has started yet', 'Bars appear here as tasks run.'));
      }
      return;
    }
    if (!tl.rowsEl) {
      tl.axis = h('div', { class: 'tl-axis' });
      tl.rowsEl = h('div', { class: 'tl-rows' });
      replace(el.timeline, h('div', { class: 'tl-head' }, h('div', { class: 'tl-label tl-label-head' }, 'Task'), tl.axis), tl.rowsEl);
    }
    started.sort((a, b) => (parseTime(a.started_at) - parseTime(b.started_at)) || a.task.localeCompare(b.task));
    const active = started.some((t) => !t.ended_at && !isTerminal(t.status));
    let t0 = parseTime(run.started_at);
    const firstStart = parseTime(started[0].started_at);
    if (t0 === null || firstStart < t0) t0 = firstStart;
    let t1 = parseTime(run.ended_at);
    const latestEnd = Math.max(...started.map((t) => parseTime(t.ended_at) || 0));
    if (t1 === null || active || !isTerminal(run.status)) t1 = Math.max(now(), latestEnd);
    else t1 = Math.max(t1, latestEnd);
    const span = Math.max(1000, t1 - t0);

    // axis ticks
    const spanS = span / 1000;
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
    const step = steps.find((x) => spanS / x <= 6) || 86400;
    clear(tl.axis);
    for (let v = 0; v <= spanS + 0.001; v += step) {
      const tick = h('span', { class: 'tl-tick' }, fmtTick(v));
      tick.style.left = `${(v / spanS) * 100}%`;
      tl.axis.append(tick);
    }
    el.timelineRange.textContent = `${fmtClock(new Date(t0).toISOString())} → ${isTerminal(run.status) && !active ? fmtClock(new Date(t1).toISOString()) : 'now'}`;

    const showInstance = new Set([...st.tasks.values()].map((t) => t.instance)).size > 1;
    for (const t of started) {
      const key = keyOf(t.instance, t.task);
      let row = tl.rows.get(key);
      if (!row) {
        const bar = h('div', { class: 'tl-bar', testid: 'timeline-bar', 'data-task': t.task, 'data-instance': t.instance, tabindex: '-1' });
        const barLabel = h('span', { class: 'tl-bar-label' });
        bar.append(barLabel);
        const label = h('div', { class: 'tl-label', title: `${t.instance} / ${t.task}` },
          showInstance ? h('span', { class: 'tl-inst' }, t.instance + ' / ') : null,
          h('span', { class: 'tl-task' }, t.task));
        const rowEl = h('div', { class: 'tl-row', 'data-key': key }, label, h('div', { class: 'tl-track' }, bar));
        rowEl.addEventListener('click', () => select(key, true));
        row = { rowEl, bar, barLabel, label };
        tl.rows.set(key, row);
      }
      const a = parseTime(t.started_at);
      const running = !t.ended_at && !isTerminal(t.status);
      const b = t.ended_at ? parseTime(t.ended_at) : (running ? now() : a);
      const left = ((a - t0) / span) * 100;
      const width = Math.max(((b - a) / span) * 100, 0.35);
      row.bar.style.left = `${Math.max(0, Math.min(left, 99.65))}%`;
      row.bar.style.width = `${Math.min(width, 100 - Math.max(0, left))}%`;
      row.bar.className = 'tl-bar ' + statusClass(t.status) + (running ? ' is-running' : '');
      row.bar.dataset.status = t.status;
      const dur = fmtDuration((b - a) / 1000);
      const worker = t.worker || '';
      row.barLabel.textContent = worker;
      row.bar.title = `${t.instance} / ${t.task}\n${t.status} · ${dur}${worker ? ' · on ' + worker : ''}${t.attempt > 1 ? ' · attempt ' + t.attempt : ''}`;
      // Labels that do not fit in the bar go after it.
      row.bar.classList.toggle('label-outside', width < 14);
      row.rowEl.classList.toggle('selected', key === st.selected);
    }
    const order = started.map((t) => keyOf(t.instance, t.task)).join('\u0000');
    if (order !== tl.order) {
      tl.order = order;
      for (const t of started) tl.rowsEl.append(tl.rows.get(keyOf(t.instance, t.task)).rowEl);
    }
  }

  // ------------------------------------------------------------ selected task panel
  const panel = { key: null, outputEl: null, shown: 0, lastAttempt: null, statusBadge: null, meta: null, failureSlot: null, lineCount: null };

  function select(key, byUser = false) {
    if (!st.tasks.has(key)) return;
    if (byUser) st.userSelected = true;
    const prev = st.selected ? st.tasks.get(st.selected) : null;
    st.selected = key;
    const t = st.tasks.get(key);
    for (const [inst, entry] of st.blocks) {
      if (!entry.graph) continue;
      if (inst === t.instance) {
        entry.graph.select(t.task);
        entry.graph.highlight(t.task);
        const graph = entry.graph;
        requestAnimationFrame(() => graph.reveal(t.task));
      } else if (prev && prev.instance === inst) { entry.graph.select(null); entry.graph.highlight(null); }
    }
    for (const [k, row] of tl.rows) row.rowEl.classList.toggle('selected', k === key);
    if (byUser) {
      const q = new URLSearchParams(location.search);
      q.set('instance', t.instance);
      q.set('task', t.task);
      history.replaceState(null, '', `${location.pathname}?${q}`);
      // On a narrow window the panel is below the graph: bring it into view.
      if (window.matchMedia('(max-width: 1100px)').matches) {
        const card = root.querySelector('.task-panel');
        if (card) card.scrollIntoView({ behavior: 'smooth', block: 'start' });
      }
    }
    renderPanel(true);
  }

  function renderPanel(rebuild = false) {
    if (!el.panel) return;
    const t = st.selected ? st.tasks.get(st.selected) : null;
    if (!t) {
      panel.key = null;
      replace(el.panel, emptyState('No task selected', 'Click a task in the graph or the timeline to see its details and what it printed.', null, { testid: 'task-none' }));
      return;
    }
    if (rebuild || panel.key !== st.selected) {
      panel.key = st.selected;
      panel.statusBadge = badge(t.status, { testid: 'task-status' });
      panel.meta = h('dl', { class: 'meta-grid meta-grid-2' });
      panel.failureSlot = h('div');
      panel.lineCount = h('span', { class: 'card-head-note' });
      panel.outputEl = h('div', { class: 'output', testid: 'task-output', role: 'log', 'aria-label': `Output of ${t.task}`, tabindex: '0' });
      panel.shown = 0;
      panel.lastAttempt = null;
      replace(el.panel,
        h('div', { class: 'task-head' },
          h('div', { class: 'task-head-titles' },
            h('div', { class: 'task-kicker' }, 'Task'),
            h('h2', { class: 'task-title ellipsis', title: t.task, testid: 'task-title' }, t.task),
            h('div', { class: 'task-sub' }, 'in ', h('span', { class: 'mono' }, t.instance))),
          panel.statusBadge),
        panel.meta,
        panel.failureSlot,
        h('div', { class: 'output-head' }, h('h3', { class: 'section-title' }, 'Output'), panel.lineCount),
        panel.outputEl);
      renderOutput(true);
    }
    setBadge(panel.statusBadge, t.status);
    const placeholder = panel.outputEl.querySelector('.output-empty');
    if (placeholder) placeholder.textContent = isTerminal(t.status) ? 'This task printed nothing.' : 'No output yet.';
    const durationEl = liveDuration({ start: t.started_at, end: t.ended_at, active: !isTerminal(t.status) });
    replace(panel.meta,
      metaItem('Attempt', t.attempt ? String(t.attempt) : '—'),
      metaItem('Worker', t.worker || '—', 'mono ellipsis', t.worker),
      metaItem('Queue', t.queue || '—', 'mono'),
      metaItem('Duration', durationEl, 'num'),
      metaItem('Started', t.started_at ? fmtTime(t.started_at) : '—', '', fmtTimeLong(t.started_at)),
      metaItem('Ended', t.ended_at ? fmtTime(t.ended_at) : '—', '', fmtTimeLong(t.ended_at)));
    if (t.failure) {
      replace(panel.failureSlot, h('div', { class: 'task-failure-wrap' },
        h('h3', { class: 'section-title text-failed' }, 'Failure'),
        failureBlock(t.failure, { testid: 'task-failure' })));
    } else {
      clear(panel.failureSlot);
    }
  }

  function metaItem(label, value, cls = '', title = '') {
    return h('div', null, h('dt', null, label), h('dd', { class: cls || null, title: title || null }, value));
  }

  function renderOutput(fresh = false) {
    if (!panel.outputEl || !panel.key) return;
    const out = st.output.get(panel.key);
    const lines = out ? out.lines : [];
    const t = st.tasks.get(panel.key);
    const box = panel.outputEl;
    const finished = Boolean(t && isTerminal(t.status));
    // Follow the end while the reader is there; a finished task's replayed output stays at its start.
    const follow = box.scrollHeight - box.scrollTop - box.clientHeight < 24 && (!finished || box.scrollTop > 0);
    if (fresh) {
      clear(box);
      panel.shown = 0;
      panel.lastAttempt = null;
      const dropped = (out ? out.dropped : 0) + Math.max(0, lines.length - MAX_LINES_SHOWN);
      if (dropped > 0) box.append(h('div', { class: 'output-note' }, `${dropped} earlier lines not shown`));
      panel.shown = Math.max(0, lines.length - MAX_LINES_SHOWN);
    }
    if (!lines.length) {
      if (!box.querySelector('.output-empty')) {
        box.append(h('div', { class: 'output-empty' }, t && !isTerminal(t.status) ? 'No output yet.' : 'This task printed nothing.'));
      } else {
        box.querySelector('.output-empty').textContent = t && !isTerminal(t.status) ? 'No output yet.' : 'This task printed nothing.';
      }
    } else {
      const placeholder = box.querySelector('.output-empty');
      if (placeholder) placeholder.remove();
    }
    const multiAttempt = lines.length && lines.some((l) => l.attempt !== lines[0].attempt);
    const frag = document.createDocumentFragment();
    for (let i = panel.shown; i < lines.length; i++) {
      const line = lines[i];
      if (multiAttempt && line.attempt !== panel.lastAttempt) {
        frag.append(h('div', { class: 'output-attempt' }, `attempt ${line.attempt}`));
      }
      panel.lastAttempt = line.attempt;
      frag.append(h('div', { class: 'line' + (line.stream === 'stderr' ? ' stderr' : '') }, line.text === '' ? '\u00a0' : line.text));
    }
    panel.shown = lines.length;
    box.append(frag);
    panel.lineCount.textContent = lines.length ? plural(lines.length + (out ? out.dropped : 0), 'line') : '';
    // A running task's output follows its end while the reader stays there; a finished
    // task's opens at its start.
    if (fresh) box.scrollTop = finished ? 0 : box.scrollHeight;
    else if (follow) box.scrollTop = box.scrollHeight;
  }

  // ------------------------------------------------------------ events
  function onEvent(ev, id) {
    if (!ev || !st.run) return;
    const eid = id || ev.id;
    if (eid) {
      if (st.seen.has(eid)) return;
      st.seen.add(eid);
    }
    const run = st.run;
    switch (ev.type) {
      case 'run_started':
        if (!isTerminal(run.status)) run.status = ev.run_status || 'running';
        if (!run.started_at) run.started_at = ev.time;
        st.dirty.header = true;
        break;
      case 'run_stopping':
        if (!isTerminal(run.status)) run.status = 'stopping';
        st.dirty.header = true;
        break;
      case 'run_ended':
        run.status = ev.run_status || run.status;
        run.ended_at = run.ended_at || ev.time;
        if (run.duration_s === null || run.duration_s === undefined) run.duration_s = (parseTime(run.ended_at) - parseTime(run.started_at)) / 1000;
        if (ev.failure) run.failure = ev.failure;
        st.dirty.header = true;
        st.dirty.timeline = true;
        onRunEnded();
        break;
      case 'dag_started':
        if (!isTerminal(st.dagStatus.get(ev.instance))) st.dagStatus.set(ev.instance, ev.dag_status || 'running');
        if (!st.blocks.has(ev.instance)) refreshGraphSoon();
        st.dirty.dags = true;
        break;
      case 'dag_ended':
        st.dagStatus.set(ev.instance, ev.dag_status || 'succeeded');
        st.dirty.dags = true;
        break;
      case 'task_queued':
        updateTask(ev.instance, ev.task, { status: ev.task_status || 'queued', attempt: ev.attempt });
        break;
      case 'task_started':
        updateTask(ev.instance, ev.task, { status: ev.task_status || 'running', attempt: ev.attempt, started_at: ev.time, ended_at: null, worker: ev.worker || undefined });
        // Events do not carry the queue: the run's details do.
        if (!st.endedAtLoad && !(st.tasks.get(keyOf(ev.instance, ev.task)) || {}).queue) refreshDetailSoon();
        break;
      case 'task_ended':
        updateTask(ev.instance, ev.task, { status: ev.task_status || 'succeeded', attempt: ev.attempt, ended_at: ev.time, failure: ev.failure || null, worker: ev.worker || undefined });
        break;
      case 'task_output':
        addOutput(ev);
        break;
      default:
        break;
    }
    if (ev.instance && ev.type.startsWith('task_')) {
      const entry = st.blocks.get(ev.instance);
      if (!entry) refreshGraphSoon(400);
      else if (entry.collapsed && ev.type !== 'task_output') refreshGraphSoon(2000);
    }
    schedule();
  }

  function addOutput(ev) {
    const key = keyOf(ev.instance, ev.task);
    let out = st.output.get(key);
    if (!out) { out = { lines: [], dropped: 0 }; st.output.set(key, out); }
    const t = st.tasks.get(key);
    // One event may carry several lines.
    const text = (ev.text || '').replace(/\r?\n$/, '');
    for (const line of text.split('\n')) {
      out.lines.push({ text: line.replace(/\r$/, ''), stream: ev.stream || 'stdout', attempt: ev.attempt || (t && t.attempt) || 1 });
    }
    if (out.lines.length > MAX_LINES_KEPT) {
      const n = out.lines.length - MAX_LINES_KEPT;
      out.lines.splice(0, n);
      out.dropped += n;
      if (key === st.selected) panel.needsFresh = true;
    }
    if (!st.tasks.has(key)) ensureTask(ev.instance, ev.task);
    if (key === st.selected) st.dirty.output = true;
  }

  let detailTimer = null;
  function refreshDetailSoon() {
    if (detailTimer || st.ended || !ctx.alive()) return;
    detailTimer = setTimeout(async () => {
      try {
        const detail = await api(base, { signal: ctx.signal });
        if (ctx.alive()) { mergeDetail(detail); st.dirty.header = true; schedule(); }
      } catch (e) {
        if (!isAbort(e)) console.warn('run:', e.message);
      } finally {
        // At most one refresh every few seconds, however many tasks start.
        setTimeout(() => { detailTimer = null; }, 3000);
      }
    }, 1500);
  }
  ctx.onCleanup(() => clearTimeout(detailTimer));

  let endTimer = null;
  function onRunEnded() {
    if (st.ended) return;
    st.ended = true;
    // The final summary (failure, duration) and graph, unless the run had ended before the
    // page loaded; then stop following.
    if (!st.endedAtLoad) setTimeout(async () => {
      try {
        const [detail, graph] = await Promise.all([
          api(base, { signal: ctx.signal }),
          api(`${base}/graph`, { signal: ctx.signal }),
        ]);
        if (!ctx.alive()) return;
        mergeDetail(detail);
        applyGraph(graph);
        loadProvenance();  // its final status and times (or that it is not kept)
        st.dirty.header = true;
        schedule();
      } catch (e) {
        if (!isAbort(e)) console.warn('run:', e.message);
      }
    }, 300);
    endTimer = setTimeout(() => { if (stream) stream.close(); st.streamLive = false; st.dirty.header = true; schedule(); }, 2500);
  }
  ctx.onCleanup(() => clearTimeout(endTimer));

  function mergeDetail(detail) {
    const run = st.run;
    for (const k of ['workflow', 'started_at', 'keep_data', 'arguments']) if (detail[k] !== undefined) run[k] = detail[k];
    // Never back: a fetched summary may be older than the events already applied.
    const runRank = (s) => (isTerminal(s) ? 3 : s === 'stopping' ? 2 : 1);
    if (!run.status || runRank(detail.status) >= runRank(run.status)) run.status = detail.status;
    if (detail.ended_at) run.ended_at = detail.ended_at;
    if (detail.duration_s !== null && detail.duration_s !== undefined) run.duration_s = detail.duration_s;
    if (detail.failure) run.failure = detail.failure;
    for (const d of detail.dags || []) {
      if (d.status) st.dagStatus.set(d.instance, d.status);
    }
    for (const t of detail.tasks || []) {
      updateTask(t.instance, t.task, {
        status: t.status, attempt: t.attempt, worker: t.worker || '', queue: t.queue || '',
        started_at: t.started_at, ended_at: t.ended_at, failure: t.failure || null,
      });
    }
    st.dirty.dags = true;
    maybeAutoSelect();
  }

  function maybeAutoSelect() {
    if (st.userSelected) return;
    const run = st.run;
    if (run.status === 'failed' || run.status === 'aborted') {
      const t = firstFailedTask();
      if (t) {
        const key = keyOf(t.instance, t.task);
        if (st.selected !== key) select(key, false);
      }
    }
  }

  // ------------------------------------------------------------ rendering loop
  let frame = 0;
  function schedule() {
    if (frame || !el.panel) return;
    frame = requestAnimationFrame(flush);
  }
  ctx.onCleanup(() => cancelAnimationFrame(frame));

  function flush() {
    frame = 0;
    if (!ctx.alive()) return;
    const d = st.dirty;
    for (const key of d.tasks) {
      const t = st.tasks.get(key);
      const entry = st.blocks.get(t.instance);
      if (entry && entry.graph) setNodeStatus(entry.graph.nodes.get(t.task), t.status);
    }
    d.tasks.clear();
    if (d.dags) {
      for (const [inst, entry] of st.blocks) updateBlockHead(entry, inst);
      d.dags = false;
    }
    if (d.header) {
      if (st.ended) maybeAutoSelect();
      renderHeader();
      d.header = false;
    }
    if (d.timeline) { renderTimeline(); d.timeline = false; }
    if (d.panel) { renderPanel(); d.panel = false; }
    if (d.output || panel.needsFresh) {
      renderOutput(Boolean(panel.needsFresh));
      panel.needsFresh = false;
      d.output = false;
    }
  }

  // ------------------------------------------------------------ stop
  async function onStop() {
    const ok = await confirmDialog({
      title: 'Stop this run?',
      message: `Running tasks of ${st.run.workflow} (${shortId(st.run.id)}) are stopped and no new task starts. This cannot be undone.`,
      confirmLabel: 'Stop run',
      danger: true,
    });
    if (!ok || !ctx.alive()) return;
    el.stop.disabled = true;
    try {
      const res = await api(`${base}/stop`, { method: 'POST', body: {} });
      if (!ctx.alive()) return;
      const status = (res && res.status) || 'stopping';
      if (!isTerminal(st.run.status)) st.run.status = status;
      st.dirty.header = true;
      schedule();
      toast('Stopping the run…', 'info');
    } catch (e) {
      if (!isAbort(e)) toast(e.message, 'error');
    } finally {
      el.stop.disabled = false;
    }
  }

  // ------------------------------------------------------------ load
  let stream = null;

  async function load() {
    let detail, graph;
    try {
      [detail, graph] = await Promise.all([
        api(base, { signal: ctx.signal }),
        api(`${base}/graph`, { signal: ctx.signal }).catch((e) => {
          if (isAbort(e) || e.status === 401) throw e;
          if (e.status !== 404) console.warn('graph:', e.message);
          return { instances: [] };
        }),
      ]);
    } catch (e) {
      if (isAbort(e) || !ctx.alive() || e.status === 401) return;
      ctx.setTitle(e.status === 404 ? 'Run not found' : 'Error');
      replace(root, h('div', { class: 'card empty-page', testid: 'page-error' },
        h('h1', null, e.status === 404 ? 'Run not found' : 'Cannot load this run'),
        errorBox(e.message),
        h('a', { class: 'btn btn-primary', href: '/runs' }, 'Back to runs')));
      return;
    }
    if (!ctx.alive()) return;
    st.run = { ...detail };
    st.endedAtLoad = isTerminal(detail.status);
    ctx.setTitle(`${detail.workflow} · ${shortId(detail.id)}`);
    mergeDetail(detail);
    buildPage();
    applyGraph(graph);
    // A task chosen in the URL (?instance=&task=) wins over the automatic choice.
    const qi = ctx.query.get('instance'), qt = ctx.query.get('task');
    if (qt) {
      const key = keyOf(qi || 'main', qt);
      if (st.tasks.has(key)) { st.userSelected = true; select(key, false); }
    }
    maybeAutoSelect();
    st.dirty.timeline = true;
    st.dirty.header = true;
    schedule();
    loadProvenance();

    stream = openStream(`${base}/events`, {
      resume: true,
      onMessage: onEvent,
      onState: (state) => {
        st.streamLive = state === 'live';
        st.dirty.header = true;
        schedule();
      },
      onServerError: (message) => console.warn('run events:', message),
    });
    ctx.onCleanup(() => stream.close());
    ctx.every(1000, () => {
      if (!el.panel) return;
      tickTimes(root);
      const active = !isTerminal(st.run.status) || [...st.tasks.values()].some((t) => t.started_at && !t.ended_at && !isTerminal(t.status));
      if (active) renderTimeline();
    });
  }

  load();
}
