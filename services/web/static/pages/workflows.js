// The registered workflows, as cards.

import { api, isAbort } from '../api.js';
import { h, replace, firstLine, plural, relTime, tickTimes, emptyState, errorBox, spinner } from '../util.js';

export function renderWorkflows(ctx) {
  ctx.setTitle('Workflows');
  const search = h('input', {
    class: 'input input-search', type: 'search', placeholder: 'Filter workflows…',
    'aria-label': 'Filter workflows', testid: 'workflow-search',
  });
  const count = h('span', { class: 'page-count' });
  const body = h('div', null, spinner());
  replace(ctx.root, h('div', { class: 'page', testid: 'workflows-page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { class: 'page-title' }, 'Workflows', count),
        h('p', { class: 'page-sub' }, 'Registered workflow definitions. Open one to see its DAGs and start a run.')),
      h('div', { class: 'page-actions' }, search)),
    body));

  let workflows = [];

  function card(w) {
    const href = `/workflows/${encodeURIComponent(w.name)}`;
    const desc = firstLine(w.description);
    const params = w.parameters || [];
    const required = params.filter((p) => p.required).length;
    return h('article', { class: 'card wf-card', testid: 'workflow-card', 'data-workflow': w.name },
      h('div', { class: 'wf-card-body' },
        h('h2', { class: 'wf-name' }, h('a', { href, class: 'ellipsis', title: w.name, testid: 'workflow-link' }, w.name)),
        h('p', { class: 'wf-desc' + (desc ? '' : ' muted'), title: desc || null }, desc || 'No description.'),
        h('div', { class: 'wf-dags' },
          h('span', { class: 'wf-dags-label' }, plural((w.dags || []).length, 'DAG')),
          (w.dags || []).slice(0, 6).map((d) => h('span', { class: 'chip mono', title: d }, d)),
          (w.dags || []).length > 6 ? h('span', { class: 'chip chip-more' }, `+${w.dags.length - 6}`) : null)),
      h('div', { class: 'wf-card-foot' },
        h('div', { class: 'wf-facts' },
          h('span', null, params.length ? plural(params.length, 'parameter') : 'No parameters',
            required ? h('span', { class: 'muted' }, ` (${required} required)`) : null),
          w.registered_at ? h('span', { class: 'muted' }, 'registered ', relTime(w.registered_at)) : null),
        h('a', { class: 'btn btn-primary btn-sm', href: href + '#start', testid: 'workflow-start' }, 'Start')));
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const shown = q ? workflows.filter((w) => w.name.toLowerCase().includes(q) || (w.description || '').toLowerCase().includes(q)) : workflows;
    count.textContent = workflows.length ? String(workflows.length) : '';
    if (!workflows.length) {
      replace(body, h('div', { class: 'card' }, emptyState('No workflows registered',
        'Workflows appear here once a scheduler has registered them.',
        h('code', { class: 'hint-code' }, 'lfctl workflow register FILE'), { testid: 'workflows-empty' })));
      return;
    }
    if (!shown.length) {
      replace(body, h('div', { class: 'card' }, emptyState('No workflow matches', `Nothing is called or described as “${search.value}”.`, null, { testid: 'workflows-empty' })));
      return;
    }
    replace(body, h('div', { class: 'wf-grid', testid: 'workflows-list' }, shown.map(card)));
  }

  search.addEventListener('input', render);

  api('/workflows', { signal: ctx.signal }).then((data) => {
    if (!ctx.alive()) return;
    workflows = (data.workflows || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    render();
  }).catch((e) => {
    if (isAbort(e) || !ctx.alive()) return;
    replace(body, errorBox(e.message, { testid: 'page-error' }));
  });
  ctx.every(30000, () => tickTimes(body));
}
