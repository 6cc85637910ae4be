// TaskHub operations dashboard: hash-routed views over the JSON API, each polled every 2 s.
// Everything put into the page goes through textContent/attributes (el, svg), never innerHTML.

const POLL_MS = 2000;
const PAGE_SIZE = 50;
const MAX_LIMIT = 500;
const BULK_MAX = 100;
const HISTORY_PAGE = 20;
const STATUSES = ['WAITING', 'RUNNING', 'SUCCESS', 'FAILURE', 'CANCELLED'];
const FINISHED = new Set(['SUCCESS', 'FAILURE', 'CANCELLED']);
const RETURN_KEY = 'taskhub.dashboard.return';

const $ = (selector) => document.querySelector(selector);
const enc = encodeURIComponent;
const signinFailed = new URLSearchParams(location.search).get('signin') === 'failed';

let me = null;
let canManage = false;
let poller = null;

// ---------- DOM helpers ----------

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  return node;
}

function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs), children);
}

function heading(text) {
  return el('h1', { tabindex: '-1' }, text);
}

function section(title, ...content) {
  return el('section', { class: 'panel' }, el('h2', {}, title), content);
}

function badge(word, attrs = {}) {
  return el('span', { ...attrs, class: `badge badge-${String(word).toLowerCase()}` }, word);
}

function muted(text) {
  return el('p', { class: 'muted' }, text);
}

function field(label, control) {
  return el('div', { class: 'field' }, el('label', { for: control.id }, label), control);
}

// Rebuilds a node's content only when its data changed, so polling neither flickers nor steals focus.
const signatures = new WeakMap();
function patch(node, data, build) {
  const signature = JSON.stringify(data) ?? 'undefined';
  if (signatures.get(node) === signature) return;
  signatures.set(node, signature);
  node.replaceChildren(...[build(data)].flat(Infinity).filter((c) => c != null && c !== false));
}

// ---------- formatting ----------

// The API gives ISO 8601 strings in UTC; the cron history gives unix seconds.
function toDate(value) {
  if (value == null || value === '') return null;
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function timeEl(value) {
  const date = toDate(value);
  if (!date) return '—';
  return el('time', { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

function shortTime(value) {
  return toDate(value)?.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) ?? '';
}

function duration(seconds) {
  if (seconds == null) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value != null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// ---------- tables ----------

function dataTable(columns, attrs = {}) {
  const tbody = el('tbody', {});
  const table = el('table', attrs,
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c)))), tbody);
  return { wrap: el('div', { class: 'table-wrap' }, table), table, tbody, columns };
}

const cell = (content, cls) => ({ isCell: true, content, cls });

// data-label lets the stylesheet show each cell as "label: value" when rows become cards on phones.
function tr(columns, attrs, cells) {
  return el('tr', attrs, cells.map((c, i) => {
    const spec = c?.isCell ? c : { content: c };
    return el('td', { 'data-label': columns[i], class: spec.cls }, spec.content ?? '—');
  }));
}

const rowSignatures = new WeakMap();
const FOCUSABLE = 'a[href], button, input, select, textarea, summary';

// Keyed update: rows whose data is unchanged are kept as they are (focus, open <details>);
// a changed row that held the focus hands it to the same control of its replacement.
function syncRows(table, items, key, build, emptyText) {
  const { tbody, columns } = table;
  const old = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  const emptyRow = [...tbody.rows].find((r) => r.classList.contains('empty-row'));
  const active = document.activeElement;
  let focusMove = null;
  const rows = items.length ? items.map((item) => {
    const k = String(key(item));
    const signature = JSON.stringify(item);
    const previous = old.get(k);
    if (previous && rowSignatures.get(previous) === signature) return previous;
    const next = build(item);
    next.dataset.key = k;
    rowSignatures.set(next, signature);
    if (previous?.contains(active)) focusMove = [[...previous.querySelectorAll(FOCUSABLE)].indexOf(active), next];
    return next;
  }) : [emptyRow ?? el('tr', { class: 'empty-row' }, el('td', { colspan: columns.length, class: 'empty' }, emptyText))];
  rows.forEach((r, i) => {
    if (tbody.rows[i] !== r) tbody.insertBefore(r, tbody.rows[i] ?? null);
  });
  while (tbody.rows.length > rows.length) tbody.deleteRow(rows.length);
  if (focusMove) focusMove[1].querySelectorAll(FOCUSABLE)[focusMove[0]]?.focus();
}

// ---------- API ----------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

class SignInRequired extends Error {
  constructor() {
    super('Sign in required.');
  }
}

async function problemText(response) {
  try {
    const problem = await response.json();
    const parts = [problem.detail || problem.title || `HTTP ${response.status}`];
    for (const [name, messages] of Object.entries(problem.errors ?? {})) parts.push(`${name}: ${[].concat(messages).join(' ')}`);
    return parts.join(' ');
  } catch {
    return `HTTP ${response.status} ${response.statusText}`.trim();
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    credentials: 'same-origin',
    headers: { 'X-TaskHub-Csrf': '1', Accept: 'application/json', ...options.headers },
  });
  if (response.status === 401) {
    showSignIn();
    throw new SignInRequired();
  }
  if (!response.ok) throw new ApiError(response.status, await problemText(response));
  const text = response.status === 204 ? '' : await response.text();
  return text ? JSON.parse(text) : null;
}

const post = (path) => api(path, { method: 'POST' });

// ---------- status line and actions ----------

let statusTimer = null;
function say(text, isError = false) {
  const line = $('#status-line');
  line.textContent = text;
  line.classList.toggle('error', isError);
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { line.textContent = ''; }, 15000);
}

async function act(button, failure, work) {
  button.disabled = true;
  try {
    say(await work());
  } catch (error) {
    if (!(error instanceof SignInRequired)) say(`${failure}: ${error.message}`, true);
  } finally {
    button.disabled = false;
    poller?.now();
  }
}

// Absent, not disabled, for callers without the manage scope: they never see a button they may not use.
function actionButton(label, cls, failure, work, attrs = {}) {
  if (!canManage) return null;
  return el('button', {
    type: 'button', class: `action ${cls}`, ...attrs,
    onclick: (event) => { event.stopPropagation(); act(event.currentTarget, failure, work); },
  }, label);
}

const taskOps = {
  retry: async (id) => `Task ${id} retried: now ${(await post(`/tasks/${enc(id)}/retry`))?.status ?? 'WAITING'}.`,
  cancel: async (id) => `Task ${id} cancelled: now ${(await post(`/tasks/${enc(id)}/cancel`))?.status ?? 'CANCELLED'}.`,
  delete: async (id) => { await api(`/tasks/${enc(id)}`, { method: 'DELETE' }); return `Task ${id} deleted.`; },
};

// ---------- polling ----------

class Poller {
  constructor(refresh, errorNode) {
    this.refresh = refresh;
    this.errorNode = errorNode;
    this.stopped = false;
    this.timer = null;
    this.running = null;
    this.again = false;
    this.now();
  }

  now() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.running) { this.again = true; return; }
    this.running = this.run();
  }

  async run() {
    try {
      await this.refresh();
      this.showError(null);
    } catch (error) {
      if (error instanceof SignInRequired) return;
      this.showError(error);
    } finally {
      this.running = null;
      if (this.again) { this.again = false; this.now(); } else if (!this.stopped) this.timer = setTimeout(() => this.tick(), POLL_MS);
    }
  }

  // A hidden tab keeps its timer but skips the requests; it refreshes as soon as it is shown again.
  tick() {
    if (document.hidden) this.timer = setTimeout(() => this.tick(), POLL_MS);
    else this.now();
  }

  showError(error) {
    if (this.stopped || !this.errorNode) return;
    this.errorNode.hidden = !error;
    this.errorNode.textContent = error ? `Could not refresh: ${error.message}` : '';
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) poller?.now(); });

// ---------- overview ----------

function viewOverview(main) {
  const counters = el('ul', { class: 'counters' }, STATUSES.map((s) =>
    el('li', { class: `counter counter-${s.toLowerCase()}` },
      el('a', { href: `#/tasks?status=${s}` },
        el('span', { class: 'counter-label' }, s),
        el('span', { class: 'counter-value', id: `count-${s}` }, '—')))));
  const chart = el('div', { class: 'chart' }, muted('Loading…'));
  const byName = el('div', {});
  const broker = el('div', {}, muted('Loading…'));
  const workers = el('div', {}, muted('Loading…'));
  const fires = el('div', {}, muted('Loading…'));
  main.append(heading('Overview'),
    section('Tasks by status', counters),
    section('Succeeded and failed per minute, last hour', chart),
    el('div', { class: 'columns' },
      section('Workers online', workers),
      section('Next cron fires', fires)),
    section('Broker queue depths', broker),
    section('Tasks by name', byName));

  return async () => {
    const results = await Promise.allSettled([
      api('/tasks/stats'), api('/broker/queues'), api('/workers'), api('/schedules')]);
    if (results.some((r) => r.reason instanceof SignInRequired)) throw new SignInRequired();
    const [stats, brokerQueues, workerList, schedules] = results;
    show(stats, chart, (s) => {
      for (const status of STATUSES) $(`#count-${status}`).textContent = String(s.byStatus?.[status] ?? 0);
      patch(chart, s.perMinute ?? [], drawChart);
      patch(byName, s.byName ?? [], nameTable);
    });
    show(brokerQueues, broker, (b) => patch(broker, b, brokerView));
    show(workerList, workers, (w) => patch(workers, w, workersSummary));
    show(schedules, fires, (list) => patch(fires, list, nextFires));
  };
}

function show(result, node, render) {
  if (result.status === 'fulfilled') render(result.value);
  else patch(node, { error: result.reason.message }, ({ error }) => el('p', { class: 'load-error' }, `Could not load: ${error}`));
}

function drawChart(perMinute) {
  const width = 600;
  const height = 160;
  const slot = width / Math.max(perMinute.length, 1);
  const max = Math.max(1, ...perMinute.flatMap((m) => [m.succeeded ?? 0, m.failed ?? 0]));
  const total = (key) => perMinute.reduce((n, m) => n + (m[key] ?? 0), 0);
  const summary = `Last hour: ${total('succeeded')} succeeded, ${total('failed')} failed, ${total('submitted')} submitted.`;
  const bar = (x, value, cls, title, fill) => {
    const h = ((value ?? 0) / max) * height;
    return svg('rect', { x, y: height - h, width: slot * 0.4, height: h, class: cls, fill }, svg('title', {}, title));
  };
  const bars = perMinute.flatMap((m, i) => [
    bar(i * slot + slot * 0.1, m.succeeded, 'bar-succeeded', `${shortTime(m.minute)}: ${m.succeeded ?? 0} succeeded`),
    bar(i * slot + slot * 0.5, m.failed, 'bar-failed', `${shortTime(m.minute)}: ${m.failed ?? 0} failed`, 'url(#hatch)'),
  ]);
  const line = (y, cls) => svg('line', { x1: 0, x2: width, y1: y, y2: y, class: cls, 'vector-effect': 'non-scaling-stroke' });
  return [
    el('p', {}, summary),
    el('div', { class: 'chart-frame' },
      el('div', { class: 'chart-scale', 'aria-hidden': 'true' }, el('span', {}, String(max)), el('span', {}, '0')),
      svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: 'chart-svg', role: 'img', 'aria-label': summary },
        // Failed bars are hatched as well as red, so they differ from succeeded ones without colour.
        svg('defs', {}, svg('pattern', { id: 'hatch', width: 4, height: 4, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
          svg('rect', { width: 4, height: 4, class: 'hatch-bg' }), svg('rect', { width: 1.5, height: 4, class: 'hatch-line' }))),
        line(0.5, 'chart-grid'), line(height / 2, 'chart-grid'), bars, line(height - 0.5, 'chart-base'))),
    el('div', { class: 'chart-axis', 'aria-hidden': 'true' },
      el('span', {}, shortTime(perMinute[0]?.minute)), el('span', {}, shortTime(perMinute[perMinute.length - 1]?.minute))),
    el('ul', { class: 'legend' },
      el('li', {}, el('span', { class: 'swatch bar-succeeded', 'aria-hidden': 'true' }), 'Succeeded (left bar of each minute)'),
      el('li', {}, el('span', { class: 'swatch bar-failed', 'aria-hidden': 'true' }), 'Failed (right bar, hatched)')),
  ];
}

function nameTable(byName) {
  if (!byName.length) return muted('No tasks yet.');
  const t = dataTable(['Name', ...STATUSES]);
  for (const n of byName) {
    t.tbody.append(tr(t.columns, {}, [
      el('a', { href: `#/tasks?name=${enc(n.name)}` }, n.name), ...STATUSES.map((s) => n.byStatus?.[s] ?? 0)]));
  }
  return t.wrap;
}

function brokerView(b) {
  if (!b.available) return el('p', { class: 'notice' }, `The broker's queues are not available: ${b.reason ?? 'no reason given'}.`);
  if (!b.queues?.length) return muted('No queues.');
  const t = dataTable(['Queue', 'Messages', 'Ready', 'Unacknowledged', 'Consumers']);
  for (const q of b.queues) t.tbody.append(tr(t.columns, {}, [cell(q.name, 'mono'), q.messages, q.ready, q.unacknowledged, q.consumers]));
  return t.wrap;
}

function workersSummary(list) {
  const silent = list.filter((w) => w.silent).length;
  return [
    el('p', { class: 'big-number' }, el('span', { id: 'workers-online' }, String(list.filter((w) => w.state === 'online').length)), ` of ${list.length} online`),
    silent ? el('p', {}, badge('silent'), ' ', el('a', { href: '#/workers' }, `${plural(silent, 'worker')} silent`)) : null,
  ];
}

function nextFires(schedules) {
  const next = schedules.filter((s) => s.state === 'ACTIVE' && toDate(s.nextFireAt))
    .sort((a, b) => toDate(a.nextFireAt) - toDate(b.nextFireAt)).slice(0, 5);
  if (!next.length) return muted('No active schedule.');
  return el('ol', { class: 'plain-list' }, next.map((s) =>
    el('li', {}, timeEl(s.nextFireAt), ' ', el('a', { href: `#/schedules/${enc(s.id)}` }, s.name || s.id),
      s.cronExpression ? el('span', { class: 'muted mono' }, ` ${s.cronExpression}`) : null)));
}

// ---------- tasks ----------

const TASK_COLUMNS = ['Status', 'Name', 'Task ID', 'Queue', 'Group', 'Attempts', 'Progress', 'Created', 'Finished'];

function progressText(t) {
  const counts = t.total ? `${t.current ?? 0} / ${t.total}` : '';
  return [counts, t.message].filter(Boolean).join(' — ') || '—';
}

function groupLink(group) {
  return group ? el('a', { href: `#/groups/${enc(group)}` }, group) : '—';
}

function taskRow(t) {
  return tr(TASK_COLUMNS, { 'data-task-id': t.id, class: 'clickable' }, [
    cell(badge(t.status), 'status'),
    el('a', { href: `#/tasks/${enc(t.id)}` }, t.name || '(unnamed)'),
    cell(t.id, 'mono'),
    t.queue, groupLink(t.group), t.attempts, progressText(t),
    timeEl(t.createdAt), timeEl(t.finishedAt),
  ]);
}

function localToIso(value) {
  const date = value ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : '';
}

function viewTasks(main, _params, query) {
  const input = (id, type, name, placeholder) =>
    el('input', { id, type, name, value: query.get(name) ?? '', placeholder, autocomplete: 'off' });
  const status = el('select', { id: 'filter-status', name: 'status' },
    el('option', { value: '' }, 'Any'), STATUSES.map((s) => el('option', { value: s }, s)));
  status.value = STATUSES.includes(query.get('status')) ? query.get('status') : '';
  const controls = {
    status,
    name: input('filter-name', 'text', 'name'),
    queue: input('filter-queue', 'text', 'queue'),
    group: input('filter-group', 'text', 'group'),
    q: input('filter-q', 'search', 'q', 'id, name or error text'),
    from: input('filter-from', 'datetime-local', 'from'),
    to: input('filter-to', 'datetime-local', 'to'),
  };
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tasks' },
    field('Status', controls.status), field('Name', controls.name), field('Queue', controls.queue),
    field('Group', controls.group), field('Text', controls.q), field('From', controls.from), field('To', controls.to),
    el('div', { class: 'field field-submit' }, el('button', { type: 'submit' }, 'Apply')));
  const bulk = el('div', { class: 'bulk' });
  const table = dataTable(TASK_COLUMNS, { id: 'tasks-table' });
  const count = el('p', { class: 'muted', 'aria-live': 'off' });
  const more = el('button', { type: 'button', id: 'load-more', hidden: true }, 'Load more');
  main.append(heading('Tasks'), form, bulk, table.wrap, el('div', { class: 'list-footer' }, count, more));

  let items = [];
  let cursor = null;
  // Every fetch notes the generation it started in; a newer filter or page makes older answers stale.
  let generation = 0;

  const filters = () => ({
    status: controls.status.value,
    name: controls.name.value.trim(),
    queue: controls.queue.value.trim(),
    group: controls.group.value.trim(),
    q: controls.q.value.trim(),
    from: localToIso(controls.from.value),
    to: localToIso(controls.to.value),
  });

  function render() {
    syncRows(table, items, (t) => t.id, taskRow, 'No task matches.');
    count.textContent = `Showing ${plural(items.length, 'task')}${cursor ? ', more to load' : ''}.`;
    more.hidden = !cursor;
  }

  function apply() {
    clearTimeout(debounce);
    applied = JSON.stringify(filters());
    generation++;
    items = [];
    cursor = null;
    updateBulk();
    poller?.now();
  }

  let debounce = null;
  let applied = JSON.stringify(filters());
  // input and change both fire for one edit; only a filter that really changed drops the loaded pages.
  const applySoon = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { if (JSON.stringify(filters()) !== applied) apply(); }, 300);
  };
  form.addEventListener('input', applySoon);
  form.addEventListener('change', applySoon);
  form.addEventListener('submit', (event) => { event.preventDefault(); apply(); });

  more.addEventListener('click', async () => {
    const mine = ++generation;
    more.disabled = true;
    try {
      const page = await api(`/tasks${qs({ ...filters(), limit: PAGE_SIZE, cursor })}`);
      if (mine !== generation) return;
      const known = new Set(items.map((t) => t.id));
      items = items.concat(page.items.filter((t) => !known.has(t.id)));
      cursor = page.cursor;
      generation++;
      render();
    } catch (error) {
      if (!(error instanceof SignInRequired)) say(`Could not load more tasks: ${error.message}`, true);
    } finally {
      more.disabled = false;
    }
  });

  table.tbody.addEventListener('click', (event) => {
    if (event.target.closest('a, button') || String(window.getSelection())) return;
    const row = event.target.closest('tr[data-task-id]');
    if (row) location.hash = `#/tasks/${enc(row.dataset.taskId)}`;
  });

  function updateBulk() {
    const s = controls.status.value;
    const op = s === 'FAILURE' ? 'retry' : s === 'WAITING' || s === 'RUNNING' ? 'cancel' : null;
    bulk.replaceChildren();
    if (!op || !canManage) return;
    const verb = op === 'retry' ? 'Retry' : 'Cancel';
    const run = (dryRun) => post(`/tasks/${op}${qs({ ...filters(), max: BULK_MAX, dryRun })}`);
    bulk.append(actionButton(`${verb} all matching`, `bulk-${op}`, `Could not count the matching tasks`, async () => {
      const preview = await run(true);
      if (!preview.matched) return 'No task matches.';
      const n = Math.min(preview.matched, BULK_MAX);
      bulk.replaceChildren(
        el('span', {}, `${plural(preview.matched, 'task')} match; ${n} will be ${op === 'retry' ? 'retried' : 'cancelled'}. `),
        actionButton(`${verb} ${plural(n, 'task')}`, `bulk-confirm`, `Could not ${op} the tasks`, async () => {
          const done = await run(false);
          updateBulk();
          return `${op === 'retry' ? 'Retried' : 'Cancelled'} ${done.affected} of ${plural(done.matched, 'matching task')}.`;
        }),
        ' ',
        el('button', { type: 'button', class: 'bulk-dismiss', onclick: updateBulk }, 'Keep them'));
      bulk.querySelector('.bulk-confirm')?.focus();
      return `${plural(preview.matched, 'task')} match the filter.`;
    }));
  }
  updateBulk();

  return async () => {
    const mine = generation;
    // Refresh everything already shown, so a poll keeps the pages loaded with "Load more".
    const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, Math.ceil(items.length / PAGE_SIZE) * PAGE_SIZE));
    const page = await api(`/tasks${qs({ ...filters(), limit })}`);
    if (mine !== generation) return;
    if (items.length > MAX_LIMIT) {
      const fresh = new Set(page.items.map((t) => t.id));
      items = page.items.concat(items.slice(MAX_LIMIT).filter((t) => !fresh.has(t.id)));
    } else {
      items = page.items;
      cursor = page.cursor;
    }
    render();
  };
}

// ---------- one task ----------

function timelineEvents(t) {
  const events = [{ label: 'Created', at: t.createdAt }];
  const runs = t.runs ?? [];
  runs.forEach((r, i) => {
    if (r.startedAt) events.push({ label: `Run ${i + 1} started`, at: r.startedAt });
    events.push({ label: `Run ${i + 1} ended after ${plural(r.attempts ?? 0, 'attempt')}`, at: r.finishedAt, status: r.status, error: r.error });
  });
  const run = runs.length ? `Run ${runs.length + 1} ` : '';
  if (t.startedAt) events.push({ label: run ? `${run}started` : 'Started', at: t.startedAt });
  if (t.finishedAt) events.push({ label: run ? `${run}finished` : 'Finished', at: t.finishedAt, status: t.status });
  else events.push({ label: 'Now', status: t.status });
  return events.map((e) => el('li', {},
    el('span', { class: 'timeline-time' }, e.at ? timeEl(e.at) : '—'),
    el('span', { class: 'timeline-label' }, e.label), e.status ? badge(e.status) : null,
    e.error ? el('span', { class: 'error-text' }, e.error) : null));
}

function argsView(args) {
  if (args == null || (Array.isArray(args) && !args.length)) return muted('No arguments.');
  if (Array.isArray(args) && args.every((a) => a && typeof a === 'object' && 'type' in a && 'value' in a)) {
    const t = dataTable(['#', 'Type', 'Value']);
    args.forEach((a, i) => t.tbody.append(tr(t.columns, {}, [
      i + 1, cell(a.type, 'mono'), el('pre', {}, typeof a.value === 'string' ? a.value : json(a.value))])));
    return t.wrap;
  }
  return el('pre', {}, json(args));
}

function outcomeView({ status, response, error }) {
  return [
    error ? [el('h3', {}, 'Error'), el('pre', { class: 'error-text' }, error)] : null,
    response != null ? [el('h3', {}, 'Result'), el('pre', {}, json(response))] : null,
    !error && response == null ? muted(FINISHED.has(status) ? 'No result.' : 'No result yet.') : null,
  ];
}

function callbackAttemptsView({ callback, attempts }) {
  if (!attempts?.length) return muted(callback ? 'No callback attempt yet.' : 'This task has no callback.');
  const t = dataTable(['Attempt', 'At', 'HTTP status', 'Error']);
  for (const a of attempts) t.tbody.append(tr(t.columns, {}, [a.attempt, timeEl(a.at), a.httpStatus, cell(a.error, 'error-text')]));
  return t.wrap;
}

function taskActions({ id, status }) {
  return [
    FINISHED.has(status) && status !== 'SUCCESS'
      ? actionButton('Retry', 'task-retry', `Could not retry task ${id}`, () => taskOps.retry(id), { id: 'task-retry' }) : null,
    !FINISHED.has(status)
      ? actionButton('Cancel', 'task-cancel', `Could not cancel task ${id}`, () => taskOps.cancel(id), { id: 'task-cancel' }) : null,
    FINISHED.has(status)
      ? actionButton('Delete', 'task-delete danger', `Could not delete task ${id}`, async () => {
        const message = await taskOps.delete(id);
        poller?.stop();
        location.hash = '#/tasks';
        return message;
      }, { id: 'task-delete' }) : null,
  ];
}

function viewTask(main, [id]) {
  const title = heading('Task');
  const statusBadge = el('span', { id: 'task-status', class: 'badge' }, '…');
  const actions = el('div', { class: 'actions' });
  const progress = el('progress', { id: 'task-progress', max: '1', value: '0' });
  const progressLabel = el('span', { class: 'progress-text' });
  const details = el('dl', { class: 'details' });
  const timeline = el('ol', { class: 'timeline' });
  const args = el('div', {});
  const outcome = el('div', {});
  const callbacks = el('div', {});
  main.append(title, el('p', {}, el('a', { href: '#/tasks' }, 'All tasks')),
    el('p', { class: 'task-status-line' }, 'Status: ', statusBadge), actions,
    section('Progress', el('div', { class: 'progress-row' },
      el('label', { for: 'task-progress', class: 'visually-hidden' }, 'Progress'), progress, progressLabel)),
    el('div', { class: 'columns' }, section('Details', details), section('Timeline', timeline)),
    section('Arguments', args), section('Result', outcome), section('Callback attempts', callbacks));

  return async () => {
    let t;
    try {
      t = await api(`/tasks/${enc(id)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      poller?.stop();
      main.replaceChildren(heading('Task not found'), el('p', {}, `No task has id ${id}. `, el('a', { href: '#/tasks' }, 'All tasks')));
      return;
    }
    title.textContent = `Task ${t.name || t.id}`;
    document.title = `${title.textContent} · TaskHub`;
    statusBadge.textContent = t.status;
    statusBadge.className = `badge badge-${String(t.status).toLowerCase()}`;
    patch(actions, { id: t.id, status: t.status }, taskActions);
    updateProgress(progress, progressLabel, t);
    patch(details, [t.id, t.name, t.queue, t.group, t.callee, t.callback, t.attempts], () => [
      ['Task ID', el('span', { class: 'mono' }, t.id)], ['Name', t.name], ['Queue', t.queue], ['Group', groupLink(t.group)],
      ['Callee', t.callee], ['Callback', t.callback], ['Attempts', t.attempts],
    ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v ?? '—')]));
    patch(timeline, [t.createdAt, t.startedAt, t.finishedAt, t.status, t.runs], () => timelineEvents(t));
    patch(args, t.args, argsView);
    patch(outcome, { status: t.status, response: t.response, error: t.error }, outcomeView);
    patch(callbacks, { callback: t.callback, attempts: t.callbackAttempts }, callbackAttemptsView);
  };
}

function updateProgress(progress, label, t) {
  if (t.total > 0) {
    progress.max = t.total;
    progress.value = Math.min(t.current ?? 0, t.total);
  } else if (t.status === 'RUNNING') {
    progress.removeAttribute('value'); // indeterminate: running, no total reported
  } else {
    progress.max = 1;
    progress.value = t.status === 'SUCCESS' ? 1 : 0;
  }
  const text = t.total > 0 ? progressText(t) : t.message || (t.status === 'RUNNING' ? 'Running, no progress reported.' : '—');
  label.textContent = text;
  progress.setAttribute('aria-valuetext', text);
}

// ---------- groups ----------

function viewGroups(main) {
  const table = dataTable(['Group', 'Parallels', 'Running', 'Waiting', 'Oldest waiting since'], { id: 'groups-table' });
  main.append(heading('Groups'), table.wrap);
  return async () => {
    const groups = await api('/groups');
    syncRows(table, groups, (g) => g.name, (g) => tr(table.columns, { 'data-group-name': g.name }, [
      el('a', { href: `#/groups/${enc(g.name)}` }, g.name), g.parallels, g.running, g.waiting, timeEl(g.oldestWaitingAt),
    ]), 'No group has running or waiting members.');
  };
}

function viewGroup(main, [name]) {
  const summary = el('p', {});
  const columns = ['Position', 'Task', 'State', 'Submitted', 'Dispatched'];
  const table = dataTable(canManage ? [...columns, 'Actions'] : columns, { id: 'members-table' });
  main.append(heading(`Group ${name}`), el('p', {}, el('a', { href: '#/groups' }, 'All groups')), summary,
    section('Members, oldest first', table.wrap));
  return async () => {
    let group;
    try {
      group = await api(`/groups/${enc(name)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      group = { name, parallels: '—', members: [] }; // a group is only known while it has members
    }
    const members = group.members ?? [];
    const running = members.filter((m) => m.state === 'running').length;
    summary.textContent = `At most ${group.parallels} run at once; ${running} running, ${members.length - running} waiting.`;
    syncRows(table, members.map((m, i) => ({ ...m, position: i + 1 })), (m) => m.taskId, (m) => tr(table.columns, { 'data-task-id': m.taskId }, [
      m.position,
      el('a', { href: `#/tasks/${enc(m.taskId)}`, class: 'mono' }, m.taskId),
      cell(badge(m.state), 'state'),
      timeEl(m.submittedAt), timeEl(m.dispatchedAt),
      canManage ? actionButton('Cancel', 'member-cancel', `Could not cancel task ${m.taskId}`, () => taskOps.cancel(m.taskId),
        { 'aria-label': `Cancel task ${m.taskId}` }) : false,
    ].filter((c) => c !== false)), 'No member is running or waiting.');
  };
}

// ---------- schedules ----------

const scheduleOps = {
  pause: 'paused',
  resume: 'resumed',
  fire: 'fired',
};

function scheduleButtons(s) {
  const label = s.name || s.id;
  const button = (op, text, applies) => applies ? actionButton(text, `schedule-${op}`, `Could not ${op} schedule ${label}`, async () => {
    await post(`/schedules/${enc(s.id)}/${op}`);
    return `Schedule ${label} ${scheduleOps[op]}.`;
  }, { 'aria-label': `${text} schedule ${label}` }) : null;
  return el('div', { class: 'row-actions' },
    button('pause', 'Pause', s.state === 'ACTIVE'),
    button('resume', 'Resume', s.state === 'PAUSED'),
    button('fire', 'Fire now', s.state !== 'COMPLETED'));
}

const SCHEDULE_COLUMNS = ['Name', 'Kind', 'Cron', 'State', 'Next fire', 'Fires', 'Last fired', 'Last status'];

function scheduleCells(s) {
  return [
    el('a', { href: `#/schedules/${enc(s.id)}` }, s.name || s.id),
    s.kind, cell(s.cronExpression ?? (s.kind === 'quick' ? 'once' : null), 'mono'),
    cell(badge(s.state), 'state'), timeEl(s.nextFireAt), s.fireCount, timeEl(s.lastFiredAt),
    s.lastStatus ? badge(s.lastStatus) : null,
  ];
}

function viewSchedules(main) {
  const table = dataTable(canManage ? [...SCHEDULE_COLUMNS, 'Actions'] : SCHEDULE_COLUMNS, { id: 'schedules-table' });
  main.append(heading('Schedules'), table.wrap);
  return async () => {
    const schedules = await api('/schedules');
    syncRows(table, schedules, (s) => s.id, (s) => tr(table.columns, { 'data-schedule-id': s.id },
      canManage ? [...scheduleCells(s), scheduleButtons(s)] : scheduleCells(s)), 'No schedule.');
  };
}

function historyAttempts(attempts) {
  if (!attempts?.length) return '0';
  return el('details', {}, el('summary', {}, String(attempts.length)), el('ol', { class: 'plain-list' }, attempts.map((a) =>
    el('li', {}, `#${a.attempt} `, timeEl(a.at), a.httpStatus != null ? ` HTTP ${a.httpStatus}` : '', a.error ? ` ${a.error}` : ''))));
}

function viewSchedule(main, [id]) {
  const title = heading('Schedule');
  const table = dataTable(canManage ? [...SCHEDULE_COLUMNS, 'Actions'] : SCHEDULE_COLUMNS, { id: 'schedules-table' });
  const history = dataTable(['Fired', 'Scheduled for', 'Status', 'HTTP status', 'Error', 'Reported', 'Attempts'], { id: 'history-table' });
  const pageInfo = el('span', { class: 'muted' });
  let page = 1;
  let total = 0;
  const newer = el('button', { type: 'button', onclick: () => { page = Math.max(1, page - 1); poller?.now(); } }, 'Newer');
  const older = el('button', { type: 'button', onclick: () => { page++; poller?.now(); } }, 'Older');
  main.append(title, el('p', {}, el('a', { href: '#/schedules' }, 'All schedules')), table.wrap,
    section('Fire history, newest first', history.wrap, el('div', { class: 'pager' }, newer, pageInfo, older)));

  return async () => {
    const [schedules, fires] = await Promise.all([
      api('/schedules'),
      api(`/v1/task/history${qs({ taskId: id, pageNum: page, pageSize: HISTORY_PAGE })}`),
    ]);
    const s = schedules.find((x) => x.id === id);
    title.textContent = s ? `Schedule ${s.name || s.id}` : `Schedule ${id}`;
    document.title = `${title.textContent} · TaskHub`;
    syncRows(table, s ? [s] : [], (x) => x.id, (x) => tr(table.columns, { 'data-schedule-id': x.id },
      canManage ? [...scheduleCells(x), scheduleButtons(x)] : scheduleCells(x)), 'No schedule has this id.');
    total = fires.total ?? 0;
    const pages = Math.max(1, Math.ceil(total / HISTORY_PAGE));
    if (page > pages) { page = pages; }
    syncRows(history, fires.items ?? [], (f) => f.token, (f) => tr(history.columns, { 'data-fire-token': f.token }, [
      timeEl(f.firedAt), timeEl(f.scheduledAt), cell(badge(f.status), 'status'), f.httpStatus,
      cell(f.error, 'error-text'), timeEl(f.reportedAt), historyAttempts(f.attempts),
    ]), 'No fire yet.');
    pageInfo.textContent = `Page ${page} of ${pages} (${plural(total, 'fire')})`;
    newer.disabled = page <= 1;
    older.disabled = page >= pages;
  };
}

// ---------- callbacks, pull queues, workers ----------

function viewCallbacks(main) {
  const columns = ['Callback ID', 'Mode', 'Callback', 'Callee', 'Fired', 'Next due', 'Interval', 'Created', 'State'];
  const table = dataTable(canManage ? [...columns, 'Actions'] : columns, { id: 'callbacks-table' });
  main.append(heading('Callbacks and timers'), muted('Active callbacks: delivered now, after a timeout, on an interval or debounced.'), table.wrap);
  return async () => {
    const callbacks = await api('/callbacks');
    syncRows(table, callbacks, (c) => c.id, (c) => tr(table.columns, { 'data-callback-id': c.id }, [
      cell(c.id, 'mono'), c.mode, cell(c.callback, 'wrap'), cell(c.callee, 'wrap'),
      c.maxCount ? `${c.fired ?? 0} of ${c.maxCount}` : c.fired, timeEl(c.nextDueAt),
      c.intervalMs ? duration(c.intervalMs / 1000) : null, timeEl(c.createdAt), cell(c.state ? badge(c.state) : null, 'state'),
      canManage ? actionButton('Cancel', 'callback-cancel', `Could not cancel callback ${c.id}`, async () => {
        await api(`/callback/${enc(c.id)}`, { method: 'DELETE' });
        return `Callback ${c.id} cancelled.`;
      }, { 'aria-label': `Cancel callback ${c.id}` }) : false,
    ].filter((x) => x !== false)), 'No active callback or timer.');
  };
}

function viewPullQueues(main) {
  const table = dataTable(['Queue', 'Waiting', 'Leased', 'Replied', 'Oldest waiting'], { id: 'pull-queues-table' });
  main.append(heading('Pull queues'), table.wrap);
  return async () => {
    const queues = await api('/pull-queues');
    syncRows(table, queues, (q) => q.queue, (q) => tr(table.columns, { 'data-queue': q.queue }, [
      cell(q.queue, 'mono'), q.waiting, q.leased, q.replied, q.waiting ? duration(q.oldestWaitingSeconds) : '—',
    ]), 'No pull queue.');
  };
}

function viewWorkers(main) {
  const table = dataTable(['State', 'Worker', 'Host', 'Process', 'Queues', 'Concurrency', 'In flight', 'Version', 'Started', 'Last seen'],
    { id: 'workers-table' });
  const summary = el('p', {});
  main.append(heading('Workers'), summary, table.wrap);
  return async () => {
    const workers = await api('/workers');
    const silent = workers.filter((w) => w.silent).length;
    summary.textContent = `${workers.filter((w) => w.state === 'online').length} online, ${silent} silent.`;
    syncRows(table, workers, (w) => w.id, (w) => tr(table.columns, { 'data-worker-id': w.id, class: w.silent ? 'silent' : null }, [
      cell(badge(w.state || (w.silent ? 'silent' : 'online')), 'state'), cell(w.id, 'mono'), w.host, w.processId,
      (w.queues ?? []).join(', ') || '—', w.concurrency, w.inFlight, w.version, timeEl(w.startedAt), timeEl(w.lastSeenAt),
    ]), 'No worker has reported.');
  };
}

function viewNotFound(main) {
  main.append(heading('Page not found'), el('p', {}, 'There is no such page. ', el('a', { href: '#/' }, 'Go to the overview')));
  return null;
}

// ---------- routing and shell ----------

const routes = [
  [/^\/$/, 'overview', viewOverview],
  [/^\/tasks$/, 'tasks', viewTasks],
  [/^\/tasks\/([^/]+)$/, 'tasks', viewTask],
  [/^\/groups$/, 'groups', viewGroups],
  [/^\/groups\/(.+)$/, 'groups', viewGroup],
  [/^\/schedules$/, 'schedules', viewSchedules],
  [/^\/schedules\/([^/]+)$/, 'schedules', viewSchedule],
  [/^\/callbacks$/, 'callbacks', viewCallbacks],
  [/^\/pull-queues$/, 'pull-queues', viewPullQueues],
  [/^\/workers$/, 'workers', viewWorkers],
];

function decode(part) {
  try { return decodeURIComponent(part); } catch { return part; }
}

function route(moveFocus) {
  if (!me) return;
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // e.g. the skip link's #main: not a page
  const at = hash.indexOf('?');
  const path = at < 0 ? hash.slice(1) : hash.slice(1, at);
  const query = new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
  let nav = null;
  let view = viewNotFound;
  let params = [];
  for (const [pattern, key, candidate] of routes) {
    const match = pattern.exec(path);
    if (match) { nav = key; view = candidate; params = match.slice(1).map(decode); break; }
  }
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  poller?.stop();
  const main = $('#main');
  main.replaceChildren();
  const refresh = view(main, params, query);
  const h1 = main.querySelector('h1');
  const errorNode = el('p', { class: 'load-error', hidden: true });
  h1?.after(errorNode);
  document.title = `${h1?.textContent ?? 'Dashboard'} · TaskHub`;
  poller = refresh ? new Poller(refresh, errorNode) : null;
  window.scrollTo(0, 0);
  if (moveFocus) h1?.focus();
}

function showSignIn() {
  poller?.stop();
  poller = null;
  me = null;
  $('#site-nav').hidden = true;
  $('#user').replaceChildren();
  const main = $('#main');
  if (main.querySelector('#signin-form')) return;
  document.title = 'Sign in · TaskHub';
  const form = el('form', { id: 'signin-form', class: 'signin', method: 'post', action: '/dashboard/signin' },
    field('API key', el('input', { id: 'api-key', name: 'key', type: 'password', autocomplete: 'current-password' })),
    el('button', { type: 'submit' }, 'Sign in'));
  // The server redirects to /dashboard after signing in; remember the page to come back to it.
  form.addEventListener('submit', () => {
    try { sessionStorage.setItem(RETURN_KEY, location.hash); } catch { /* storage may be off */ }
  });
  main.replaceChildren(heading('Sign in'),
    signinFailed ? el('p', { class: 'notice error', id: 'signin-error' }, 'That key was not accepted.') : null,
    el('p', {}, 'Sign in with a TaskHub API key to see the dashboard.'), form);
  $('#api-key').focus();
}

async function signOut(button) {
  button.disabled = true;
  try {
    const response = await fetch('/dashboard/signout', { method: 'POST', credentials: 'same-origin', headers: { 'X-TaskHub-Csrf': '1' } });
    if (!response.ok && response.status !== 401) {
      say(`Could not sign out: ${await problemText(response)}`, true);
      button.disabled = false;
      return;
    }
  } catch (error) {
    say(`Could not sign out: ${error.message}`, true);
    button.disabled = false;
    return;
  }
  // Drop a ?signin=failed left from an earlier attempt so the reloaded page does not repeat it.
  if (location.search) location.replace(location.pathname + location.hash);
  else location.reload();
}

function showUser() {
  const user = $('#user');
  if (me.anonymous) {
    user.replaceChildren(el('span', { class: 'muted' }, 'Development mode: no keys'));
    return;
  }
  user.replaceChildren(
    el('span', {}, 'Signed in as ', el('strong', { id: 'user-name' }, me.name ?? 'unknown'),
      el('span', { class: 'muted' }, ` (${(me.scopes ?? []).join(', ') || 'no scopes'})`)),
    el('button', { type: 'button', id: 'sign-out', onclick: (event) => signOut(event.currentTarget) }, 'Sign out'));
}

async function start() {
  try {
    me = await api('/me');
  } catch (error) {
    if (error instanceof SignInRequired) return;
    $('#main').replaceChildren(heading('Dashboard unavailable'), el('p', { class: 'load-error' }, `Could not reach the API: ${error.message}. Retrying…`));
    setTimeout(start, POLL_MS);
    return;
  }
  const scopes = me.scopes ?? [];
  canManage = scopes.includes('manage') || scopes.includes('admin');
  $('#site-nav').hidden = false;
  showUser();
  let back = null;
  try { back = sessionStorage.getItem(RETURN_KEY); sessionStorage.removeItem(RETURN_KEY); } catch { /* storage may be off */ }
  if (back && back.startsWith('#/') && (!location.hash || location.hash === '#/')) history.replaceState(null, '', back);
  route(false);
}

window.addEventListener('hashchange', () => route(true));
$('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  $('#main').focus();
});
start();
