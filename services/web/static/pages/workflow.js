// One workflow: its docstring, each DAG's graph, and the form that starts a run.

import { api, isAbort } from '../api.js';
import { drawGraph, autoFit } from '../graph.js';
import { h, replace, relTime, fmtTimeLong, plural, errorBox, spinner, emptyState, copyButton } from '../util.js';

const TYPE_HINT = {
  int: 'a whole number, e.g. 3',
  float: 'a number, e.g. 0.5',
  bool: 'true or false',
  str: 'text',
};

export function renderWorkflow(ctx) {
  const name = ctx.params[0];
  ctx.setTitle(name);
  const root = h('div', { class: 'page page-wide', testid: 'workflow-page' }, spinner());
  replace(ctx.root, root);

  api(`/workflows/${encodeURIComponent(name)}`, { signal: ctx.signal }).then((wf) => {
    if (!ctx.alive()) return;
    build(wf);
  }).catch((e) => {
    if (isAbort(e) || !ctx.alive() || e.status === 401) return;
    ctx.setTitle(e.status === 404 ? 'Workflow not found' : 'Error');
    replace(root, h('div', { class: 'card empty-page', testid: 'page-error' },
      h('h1', null, e.status === 404 ? 'Workflow not found' : 'Cannot load this workflow'),
      errorBox(e.message),
      h('a', { class: 'btn btn-primary', href: '/workflows' }, 'All workflows')));
  });

  function build(wf) {
    const params = wf.parameters || [];
    const graphs = wf.graphs || [];
    const hash = wf.definition_hash || '';

    const header = h('div', { class: 'page-head' },
      h('div', { class: 'min0' },
        h('div', { class: 'crumbs' }, h('a', { href: '/workflows' }, 'Workflows'), h('span', { class: 'crumb-sep' }, '/')),
        h('h1', { class: 'page-title ellipsis', title: wf.name, testid: 'workflow-name' }, wf.name),
        h('div', { class: 'facts' },
          h('span', null, plural((wf.dags || []).length, 'DAG')),
          h('span', null, params.length ? plural(params.length, 'parameter') : 'no parameters'),
          wf.registered_at ? h('span', { title: fmtTimeLong(wf.registered_at) }, 'registered ', relTime(wf.registered_at)) : null,
          hash ? h('span', { class: 'hash', title: `Definition hash ${hash}` }, h('span', { class: 'mono' }, hash.slice(0, 12)), copyButton(hash, 'Copy definition hash')) : null)),
      h('div', { class: 'page-actions' },
        h('a', { class: 'btn', href: `/runs?workflow=${encodeURIComponent(wf.name)}`, testid: 'workflow-runs' }, 'View runs')));

    const description = (wf.description || '').replace(/^\n+|\s+$/g, '');
    const descCard = h('section', { class: 'card', 'aria-labelledby': 'desc-title' },
      h('div', { class: 'card-head' }, h('h2', { class: 'card-title', id: 'desc-title' }, 'Description')),
      description
        ? h('div', { class: 'docstring', testid: 'workflow-description' }, dedent(description))
        : h('div', { class: 'docstring muted', testid: 'workflow-description' }, 'This workflow has no docstring.'));

    const dagCards = graphs.length ? graphs.map((g) => h('section', { class: 'card', testid: 'workflow-dag', 'data-dag': g.dag },
      h('div', { class: 'card-head' },
        h('h2', { class: 'card-title' }, h('span', { class: 'mono' }, g.dag)),
        h('span', { class: 'card-head-note' }, plural((g.nodes || []).length, 'task')),
        g.autostart
          ? h('span', { class: 'tag tag-blue', title: 'Starts with every run' }, 'autostart')
          : h('span', { class: 'tag', title: 'Started by a task of another DAG' }, 'started by a task')),
      (g.nodes || []).length
        ? graphCanvas(g)
        : h('div', { class: 'card-pad muted' }, 'This DAG has no tasks.')))
      : [h('section', { class: 'card' }, emptyState('No DAGs', 'This workflow defines no DAG.'))];

    replace(root, header,
      h('div', { class: 'wf-grid-detail' },
        h('div', { class: 'wf-main' }, descCard, h('h2', { class: 'section-heading' }, 'DAGs'), dagCards),
        h('aside', { class: 'wf-side' }, startForm(wf, params))));

    if (location.hash === '#start') {
      const form = root.querySelector('#start');
      form.scrollIntoView({ block: 'start' });
      const first = form.querySelector('input:not([type=checkbox])');
      if (first) first.focus({ preventScroll: true });
    }
  }

  function startForm(wf, params) {
    const error = h('div', { class: 'alert alert-error', testid: 'start-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'start-submit' }, 'Start run');
    const keep = h('input', { type: 'checkbox', id: 'keep-data', testid: 'start-keep-data' });
    const inputs = new Map();

    const fields = params.map((p) => {
      const id = `param-${p.name}`;
      const hasDefault = p.default !== null && p.default !== undefined;
      const input = h('input', {
        class: 'input mono', id, name: p.name, type: 'text', testid: `param-${p.name}`,
        autocomplete: 'off', spellcheck: 'false',
        placeholder: hasDefault ? `default: ${p.default === '' ? '""' : p.default}` : (p.required ? `required · ${p.type || 'str'}` : `optional · ${p.type || 'str'}`),
        'aria-required': p.required ? 'true' : null,
        'aria-describedby': `${id}-help`,
        list: p.type === 'bool' ? 'lf-bool-values' : null,
        inputmode: p.type === 'int' ? 'numeric' : (p.type === 'float' ? 'decimal' : null),
      });
      input.addEventListener('input', () => { input.classList.remove('invalid'); });
      inputs.set(p.name, input);
      const help = p.help && !/[.!?]$/.test(p.help.trim()) ? `${p.help.trim()}.` : p.help;
      const helpBits = [help, TYPE_HINT[p.type] ? `Type: ${TYPE_HINT[p.type]}.` : null].filter(Boolean);
      return h('div', { class: 'field' },
        h('label', { class: 'field-label', for: id },
          h('span', { class: 'mono' }, p.name),
          p.required ? h('span', { class: 'req', title: 'Required' }, '*') : null,
          h('span', { class: 'type-chip' }, p.type || 'str')),
        input,
        h('div', { class: 'field-help', id: `${id}-help` }, helpBits.join(' ')));
    });

    const form = h('form', { class: 'card start-form', id: 'start', testid: 'start-form', novalidate: true },
      h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Start a run'),
        params.some((p) => p.required) ? h('span', { class: 'card-head-note' }, h('span', { class: 'req' }, '*'), ' required') : null),
      h('div', { class: 'card-pad form-body' },
        fields.length ? fields : h('p', { class: 'muted' }, 'This workflow takes no parameters.'),
        h('datalist', { id: 'lf-bool-values' }, h('option', { value: 'true' }), h('option', { value: 'false' })),
        h('label', { class: 'check' }, keep,
          h('span', null, h('span', { class: 'check-title' }, 'Keep data'),
            h('span', { class: 'field-help' }, "Keep the run's stored data after it ends."))),
        error,
        submit));

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const args = {};
      for (const [n, input] of inputs) {
        if (input.value !== '') args[n] = input.value;
      }
      error.hidden = true;
      error.textContent = '';
      submit.disabled = true;
      submit.textContent = 'Starting…';
      try {
        const res = await api('/runs', { method: 'POST', body: { workflow: wf.name, arguments: args, keep_data: keep.checked } });
        if (!ctx.alive()) return;
        ctx.navigate(`/runs/${encodeURIComponent(res.id)}`);
      } catch (err) {
        if (isAbort(err) || !ctx.alive() || err.status === 401) return;
        error.textContent = err.message;
        error.hidden = false;
        // Point at the parameter the message names, when it names one.
        for (const [n, input] of inputs) {
          if (err.message.includes(`'${n}'`)) input.classList.add('invalid');
        }
      } finally {
        if (ctx.alive()) {
          submit.disabled = false;
          submit.textContent = 'Start run';
        }
      }
    });
    return form;
  }
}

function graphCanvas(g) {
  const svg = drawGraph(g, { instance: g.dag, neutral: true, label: `DAG ${g.dag}` }).svg;
  const canvas = h('div', { class: 'dag-canvas' }, svg);
  // Sized once the canvas is in the page.
  requestAnimationFrame(() => autoFit(svg, canvas));
  return canvas;
}

/** Docstrings come indented like the code around them: strip the common indent. */
function dedent(text) {
  const lines = text.split('\n');
  const indents = lines.slice(1).filter((l) => l.trim()).map((l) => l.match(/^[ \t]*/)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return [lines[0].trim(), ...lines.slice(1).map((l) => l.slice(cut))].join('\n');
}
