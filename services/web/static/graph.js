// DAG drawings: the server lays the graph out (node centres, sizes); this draws it as SVG.

import { h, s, statusClass, plural } from './util.js';

let uid = 0;
let measureCtx = null;
const NODE_FONT = '500 12px -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

function textWidth(text) {
  if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * 7;
  measureCtx.font = NODE_FONT;
  return measureCtx.measureText(text).width;
}

/** The longest start of text (with an ellipsis) that fits in width px. */
function fitText(text, width) {
  if (textWidth(text) <= width) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(text.slice(0, mid) + '…') <= width) lo = mid; else hi = mid - 1;
  }
  return text.slice(0, Math.max(1, lo)) + '…';
}

const GLYPHS = {
  succeeded: 'M-3 0.2 L-1 2.2 L3 -2',
  failed: 'M-2.3 -2.3 L2.3 2.3 M2.3 -2.3 L-2.3 2.3',
  aborted: 'M-2.3 -2.3 L2.3 2.3 M2.3 -2.3 L-2.3 2.3',
  stopped: 'M-2 -2 H2 V2 H-2 Z',
  stopping: 'M-2 -2 H2 V2 H-2 Z',
  cancelled: 'M-2.5 0 H2.5',
  skipped: 'M-2.5 -2 L0 0 L-2.5 2 M0.5 -2 L3 0 L0.5 2',
  queued: 'M0 -2.5 V0 L1.8 1.2',
};

function statusIcon(status) {
  const g = s('g', { class: 'node-icon', 'aria-hidden': 'true' });
  g.append(s('circle', { class: 'node-icon-bg', r: 7 }));
  if (status === 'running') g.append(s('circle', { class: 'node-icon-pulse', r: 2.6 }));
  else if (GLYPHS[status]) g.append(s('path', { class: 'node-icon-glyph', d: GLYPHS[status] }));
  return g;
}

/** Set a drawn node's status (colours, icon, data-status). */
export function setNodeStatus(g, status) {
  if (!g || g.dataset.status === status) return;
  g.dataset.status = status;
  const keep = [...g.classList].filter((c) => !c.startsWith('st-'));
  g.setAttribute('class', [...keep, statusClass(status)].join(' '));
  const old = g.querySelector('.node-icon');
  if (old) {
    const icon = statusIcon(status);
    icon.setAttribute('transform', old.getAttribute('transform'));
    old.replaceWith(icon);
  }
  const title = g.querySelector('title');
  if (title) title.textContent = `${g.dataset.task} — ${status}`;
}

/**
 * Draw one DAG: graph = {width, height, nodes: [{task, x, y, w, h, status}], edges: [...]}.
 * options: instance (name for data-instance), neutral (no status colours), onSelect(task).
 * Returns {svg, nodes: Map(task → <g>), select(task)}.
 */
export function drawGraph(graph, { instance = '', neutral = false, onSelect = null, label = '' } = {}) {
  const id = ++uid;
  const nodesIn = graph.nodes || [];
  const edgesIn = graph.edges || [];
  const pad = 4;
  let width = Number(graph.width) || 0;
  let height = Number(graph.height) || 0;
  for (const n of nodesIn) {
    width = Math.max(width, n.x + n.w / 2 + pad);
    height = Math.max(height, n.y + n.h / 2 + pad);
  }
  const svg = s('svg', {
    class: 'dag-svg' + (neutral ? ' neutral' : ''),
    testid: 'dag-graph',
    'data-instance': instance,
    width, height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'group',
    'aria-label': label || `DAG ${instance}`,
  });
  const markerId = `lf-arrow-${id}`;
  svg.append(s('defs', null,
    s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' },
      s('path', { d: 'M0 1 L9 5 L0 9 z', class: 'edge-arrow' }))));

  const byTask = new Map(nodesIn.map((n) => [n.task, n]));
  const edgeLayer = s('g', { class: 'edges' });
  const labelLayer = s('g', { class: 'edge-labels' });
  for (const e of edgesIn) {
    const a = byTask.get(e.parent), b = byTask.get(e.child);
    if (!a || !b) continue;
    const x1 = a.x + a.w / 2, y1 = a.y;
    const x2 = b.x - b.w / 2 - 1, y2 = b.y;
    const dx = Math.max(24, Math.abs(x2 - x1) / 2);
    const path = s('path', {
      class: 'edge',
      d: `M${x1} ${y1} C${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`,
      'marker-end': `url(#${markerId})`,
      'data-parent': e.parent,
      'data-child': e.child,
    });
    edgeLayer.append(path);
    if (e.alias) {
      const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
      labelLayer.append(s('text', { class: 'edge-label', x: mx, y: my - 4, 'text-anchor': 'middle' }, e.alias));
    }
  }
  svg.append(edgeLayer, labelLayer);

  const nodeLayer = s('g', { class: 'nodes' });
  const nodes = new Map();
  for (const n of nodesIn) {
    const status = neutral ? 'neutral' : (n.status || 'waiting');
    const g = s('g', {
      class: 'node ' + (neutral ? 'st-neutral' : statusClass(status)) + (onSelect ? ' selectable' : ''),
      testid: 'task-node',
      'data-task': n.task,
      'data-instance': instance,
      'data-status': neutral ? '' : status,
      transform: `translate(${n.x - n.w / 2} ${n.y - n.h / 2})`,
    });
    g.append(s('title', null, neutral ? n.task : `${n.task} — ${status}`));
    g.append(s('rect', { class: 'node-rect', width: n.w, height: n.h, rx: 8, ry: 8 }));
    let textX = 12;
    if (!neutral) {
      const icon = statusIcon(status);
      icon.setAttribute('transform', `translate(${7 + 9} ${n.h / 2})`);
      g.append(icon);
      textX = 30;
    }
    g.append(s('text', { class: 'node-label', x: textX, y: n.h / 2, 'dominant-baseline': 'central' },
      fitText(n.task, n.w - textX - 10)));
    if (onSelect) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', `Task ${n.task}`);
      g.addEventListener('click', () => onSelect(n.task));
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onSelect(n.task); }
      });
    }
    nodes.set(n.task, g);
    nodeLayer.append(g);
  }
  svg.append(nodeLayer);

  let selected = null;
  return {
    svg,
    nodes,
    select(task) {
      if (selected) selected.classList.remove('selected');
      selected = task === null ? null : nodes.get(task) || null;
      if (selected) {
        selected.classList.add('selected');
        // Drawn last, so its outline is not hidden under a neighbour.
        selected.parentNode.append(selected);
      }
    },
    /** Scroll the graph's container (only it, not the page) so the task's node is in view. */
    reveal(task) {
      const g = nodes.get(task);
      const box = svg.parentElement;
      if (!g || !box) return;
      const r = g.getBoundingClientRect(), c = box.getBoundingClientRect();
      if (!c.width || !c.height) return;
      const margin = 24;
      if (r.top < c.top + margin || r.bottom > c.bottom - margin) box.scrollTop += (r.top + r.height / 2) - (c.top + c.height / 2);
      if (r.left < c.left + margin || r.right > c.right - margin) box.scrollLeft += (r.left + r.width / 2) - (c.left + c.width / 2);
    },
    highlight(task) {
      for (const p of edgeLayer.querySelectorAll('.edge')) {
        const on = task && (p.dataset.parent === task || p.dataset.child === task);
        p.classList.toggle('edge-hl', Boolean(on));
      }
    },
  };
}

/** A collapsed instance (too big to draw): its task counts as a status bar. */
export function drawCounts(counts, { instance = '' } = {}) {
  const order = ['succeeded', 'running', 'queued', 'waiting', 'failed', 'aborted', 'stopped', 'cancelled', 'skipped'];
  const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
  entries.sort((a, b) => {
    const ia = order.indexOf(a[0]), ib = order.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const total = entries.reduce((t, [, n]) => t + n, 0);
  const bar = h('div', { class: 'countbar', role: 'img', 'aria-label': entries.map(([k, n]) => `${n} ${k}`).join(', ') });
  for (const [status, n] of entries) {
    const seg = h('div', { class: 'countbar-seg ' + statusClass(status), title: `${n} ${status}` });
    seg.style.flexGrow = String(n);
    bar.append(seg);
  }
  const legend = h('div', { class: 'countbar-legend' },
    entries.map(([status, n]) => h('span', { class: 'count-chip ' + statusClass(status) },
      h('span', { class: 'badge-dot', 'aria-hidden': 'true' }), h('b', null, String(n)), ' ', status)));
  return h('div', { class: 'collapsed-dag', testid: 'dag-collapsed', 'data-instance': instance },
    h('div', { class: 'collapsed-note' },
      `${plural(total, 'task')} — too many to draw, shown as counts.`),
    bar, legend);
}

/**
 * Shrink a drawing to its container's width when that costs little legibility (down to
 * minScale); a bigger graph keeps its size and the container scrolls.
 */
export function autoFit(svg, container, minScale = 0.7) {
  const natW = Number(svg.getAttribute('width'));
  const natH = Number(svg.getAttribute('height'));
  if (!natW || !natH) return;
  const apply = () => {
    const cs = getComputedStyle(container);
    const avail = container.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (!(avail > 0)) return; // not laid out (yet)
    let scale = Math.min(1, avail / natW);
    if (scale < minScale) scale = 1;
    const w = Math.floor(natW * scale), hgt = Math.floor(natH * scale);
    if (svg.getAttribute('width') !== String(w)) svg.setAttribute('width', w);
    if (svg.getAttribute('height') !== String(hgt)) svg.setAttribute('height', hgt);
  };
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => apply()).observe(container);
  }
  apply();
}
