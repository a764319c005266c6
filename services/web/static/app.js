// The dashboard's shell: client-side routing between pages, the top bar, signing out.

import { api } from './api.js';
import { h, replace, toast } from './util.js';
import { renderRuns } from './pages/runs.js';
import { renderRun } from './pages/run.js';
import { renderWorkflows } from './pages/workflows.js';
import { renderWorkflow } from './pages/workflow.js';
import { renderWorkers } from './pages/workers.js';
import { renderSchedules } from './pages/schedules.js';

const routes = [
  { re: /^\/(?:runs\/?)?$/, nav: 'runs', render: renderRuns },
  { re: /^\/runs\/([^/]+)\/?$/, nav: 'runs', render: renderRun },
  { re: /^\/workflows\/?$/, nav: 'workflows', render: renderWorkflows },
  { re: /^\/workflows\/([^/]+)\/?$/, nav: 'workflows', render: renderWorkflow },
  { re: /^\/schedules\/?$/, nav: 'schedules', render: renderSchedules },
  { re: /^\/workers\/?$/, nav: 'workers', render: renderWorkers },
];

const main = document.getElementById('main');
let current = null; // {controller, cleanups}

function setNav(name) {
  for (const a of document.querySelectorAll('.nav a[data-nav]')) {
    const on = a.dataset.nav === name;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function teardown() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups) {
    try { fn(); } catch (e) { console.warn(e); }
  }
  current = null;
}

function notFound(ctx) {
  ctx.setTitle('Not found');
  replace(ctx.root, h('div', { class: 'page' },
    h('div', { class: 'card empty-page', testid: 'page-error' },
      h('h1', null, 'Page not found'),
      h('p', { class: 'muted' }, 'There is nothing at ', h('code', null, location.pathname), '.'),
      h('a', { class: 'btn btn-primary', href: '/runs' }, 'Go to runs'))));
}

function route() {
  teardown();
  const path = location.pathname;
  let match = null;
  let routeDef = null;
  for (const r of routes) {
    match = path.match(r.re);
    if (match) { routeDef = r; break; }
  }
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const token = current;
  const ctx = {
    root: main,
    params: match ? match.slice(1).map((p) => { try { return decodeURIComponent(p); } catch { return p; } }) : [],
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    alive: () => current === token,
    onCleanup: (fn) => cleanups.push(fn),
    every: (ms, fn) => { const id = setInterval(fn, ms); cleanups.push(() => clearInterval(id)); return id; },
    setTitle: (t) => { document.title = t ? `${t} · Lightflow` : 'Lightflow'; },
    navigate,
  };
  setNav(routeDef ? routeDef.nav : '');
  replace(main);
  main.scrollTop = 0;
  try {
    (routeDef ? routeDef.render : notFound)(ctx);
  } catch (e) {
    console.error(e);
    replace(main, h('div', { class: 'page' }, h('div', { class: 'alert alert-error', testid: 'page-error' }, String(e.message || e))));
  }
}

/** Go to a path inside the app without reloading. */
export function navigate(url, { replace: rep = false } = {}) {
  const target = new URL(url, location.href);
  if (rep) history.replaceState(null, '', target.pathname + target.search + target.hash);
  else history.pushState(null, '', target.pathname + target.search + target.hash);
  route();
  if (!target.hash) window.scrollTo(0, 0);
}

function isAppPath(path) {
  if (path.startsWith('/api/') || path.startsWith('/static/') || path === '/login') return false;
  return routes.some((r) => r.re.test(path));
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !isAppPath(url.pathname)) return;
  e.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    history.replaceState(null, '', url.hash);
    const el = document.getElementById(url.hash.slice(1));
    if (el) el.scrollIntoView({ behavior: 'smooth', block: 'start' });
    return;
  }
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', route);

document.getElementById('signout').addEventListener('click', async () => {
  try {
    await api('/logout', { method: 'POST' });
  } catch (e) {
    if (e.status !== 401) {
      toast(e.message, 'error');
      return;
    }
  }
  location.assign('/login');
});

route();
