/* dashboard.js - the ds01 dashboard: reads api/v1/overview every 5 seconds
 * and api/v1/usage?days=7|30 every minute, and redraws the page from them.
 * URLs are relative to the page, so that it also works behind a reverse
 * proxy that serves it under a sub-path (docs/DASHBOARD.md).
 * Every node is built with createElement/textContent (never innerHTML), so
 * names from the server cannot inject markup; the Content-Security-Policy
 * forbids inline script and style, so colours are set through CSS custom
 * properties only.
 *
 * Hooks for tests and scripts (stable):
 *   html[data-rendered]        how many overviews have been drawn
 *   html[data-usage-rendered]  how many usage charts have been drawn
 *   html[data-overflow]        "true" when the page is wider than the window
 *   .gpu[data-gpu][data-healthy], .slot[data-slot][data-user][data-state]
 *   #users tr[data-user], #containers tr[data-container], #events li[data-event-id]
 *   .chart[data-days] g.bar-group[data-user][data-allocated][data-used]
 */
'use strict';

(function () {
  const REFRESH_MS = 5000;
  const USAGE_REFRESH_MS = 60000;
  const FETCH_TIMEOUT_MS = 4500;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const root = document.documentElement;
  const $ = (id) => document.getElementById(id);
  let lastOk = null;
  let lastUsageAt = 0;
  let usageCache = {};
  let rendered = 0;
  let usageRendered = 0;

  /* ---- building nodes ---- */

  // el('div', {class: 'x', 'data-user': u}, child, 'text', ...)
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  }
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(SVG_NS, tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  }
  function setAttrs(n, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      n.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(n, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }

  /* A stable colour per user: FNV-1a of the name, mixed (names that differ
   * in one letter land far apart), one of 24 hues. */
  function hue(name) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return ((h >>> 0) % 24) * 15;
  }
  function colourFor(n, user) {
    if (user) n.style.setProperty('--hue', String(hue(user)));
    return n;
  }

  /* ---- formatting ---- */

  const num = (v) => typeof v === 'number' && isFinite(v);
  function fmtEq(v) { return num(v) ? v.toFixed(3) : '–'; }
  function fmtHours(v) {
    if (!num(v)) return '–';
    if (v > 0 && v < 0.01) return '<0.01';
    return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function fmtBytes(v) {
    if (!num(v)) return '–';
    const gib = v / 1073741824;
    if (gib >= 1) return (gib >= 100 ? gib.toFixed(0) : gib.toFixed(1)) + ' GiB';
    return (v / 1048576).toFixed(0) + ' MiB';
  }
  function fmtDuration(s) {
    if (!num(s)) return '–';
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + String(m).padStart(2, '0') + 'm';
    if (m > 0) return m + 'm';
    return s + 's';
  }
  function parseTime(iso) {
    if (typeof iso !== 'string') return null;
    const t = new Date(iso);
    return isNaN(t.getTime()) ? null : t;
  }
  function pad(n) { return String(n).padStart(2, '0'); }
  function fmtTime(iso) {
    const t = parseTime(iso);
    if (!t) return '–';
    const now = new Date();
    const hm = pad(t.getHours()) + ':' + pad(t.getMinutes());
    if (t.toDateString() === now.toDateString()) return hm + ':' + pad(t.getSeconds());
    return t.getFullYear() + '-' + pad(t.getMonth() + 1) + '-' + pad(t.getDate()) + ' ' + hm;
  }
  function timeEl(iso) {
    return el('time', { datetime: typeof iso === 'string' ? iso : null }, fmtTime(iso));
  }
  function pct(v) { return num(v) ? Math.max(0, Math.min(100, v)) : 0; }

  /* A bar with its number beside it: meter('util', 37, '37 %'). */
  function meter(label, percent, text) {
    const fill = el('div', { class: 'fill' + (num(percent) && percent >= 90 ? ' high' : '') });
    fill.style.width = pct(percent) + '%';
    return el('div', { class: 'meter' },
      el('span', { class: 'label' }, label),
      el('div', {
        class: 'bar', role: 'meter', 'aria-label': label,
        'aria-valuemin': 0, 'aria-valuemax': 100,
        'aria-valuenow': num(percent) ? Math.round(pct(percent)) : null,
      }, fill),
      el('span', { class: 'num' }, text));
  }
  function memMeter(used, total) {
    if (!num(used) || !num(total) || total <= 0) return meter('mem', null, 'n/a');
    const text = total >= 1073741824
      ? (used / 1073741824).toFixed(1) + ' / ' + (total / 1073741824).toFixed(1) + ' GiB'
      : fmtBytes(used) + ' / ' + fmtBytes(total);
    return meter('mem', (100 * used) / total, text);
  }
  function utilMeter(u) {
    return meter('util', u, num(u) ? Math.round(u) + ' %' : 'n/a');
  }
  function bar(percent) {
    const fill = el('div', { class: 'fill' + (percent >= 90 ? ' high' : '') });
    fill.style.width = pct(percent) + '%';
    return el('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
  }
  function userLabel(user) {
    return el('span', { class: 'who' }, colourFor(el('span', { class: 'swatch', 'aria-hidden': 'true' }), user), user);
  }
  function td(label, ...children) { return el('td', { 'data-label': label }, ...children); }
  function emptyRow(tbody, cols, text) {
    tbody.replaceChildren(el('tr', { class: 'empty-row' },
      el('td', { colspan: cols, class: 'empty full-row' }, text)));
  }

  /* ---- sections ---- */

  function renderHeader(o) {
    $('host').textContent = o.hostname || 'GPU server';
    document.title = 'ds01 · ' + (o.hostname || 'dashboard');
    $('version').textContent = o.version ? 'ds01d ' + o.version : '';
    const st = (o.health && o.health.status) || 'unknown';
    const b = $('health-badge');
    b.dataset.status = st;
    b.textContent = 'health: ' + st;
  }

  function renderTiles(o) {
    const s = o.summary || {};
    const tiles = [
      ['Slots allocated', (s.slots_allocated ?? '–') + ' / ' + (s.slots_total ?? '–')],
      ['GPU-equivalents', fmtEq(s.gpu_equivalents_allocated) + ' / ' + fmtEq(s.gpu_equivalents_total)],
      ['Containers running', s.containers_running ?? '–'],
      ['Queue', s.queue_length ?? '–', (s.queue_length || 0) > 0],
      ['Users active', s.users_active ?? '–'],
      ['Host GPU processes', s.host_gpu_processes ?? '–', (s.host_gpu_processes || 0) > 0],
      ['Quota alerts', s.alerts ?? '–', (s.alerts || 0) > 0],
    ];
    if (o.nvml && o.nvml.available === false)
      tiles.push(['NVML', 'unavailable: ' + (o.nvml.reason || 'unknown'), true]);
    $('tiles').replaceChildren(...tiles.map(([k, v, warn]) =>
      el('div', { class: 'tile' + (warn ? ' attention' : '') }, el('dt', null, k), el('dd', null, String(v)))));
  }

  function slotNode(s) {
    const held = !!s.user;
    const unhealthy = s.healthy === false || s.state === 'unhealthy';
    const cls = ['slot', held ? 'held' : 'free'];
    if (s.reserved_for) cls.push('reserved');
    if (unhealthy) cls.push('unhealthy');
    const n = el('div', {
      class: cls.join(' '), 'data-slot': s.slot, 'data-user': s.user || '',
      'data-state': s.state || '', 'data-container': s.container || '',
    });
    colourFor(n, s.user);
    // Bigger slices take more room: 1g one cell, 2g-4g two, a whole GPU a row.
    const slices = num(s.gpu_equivalents) ? Math.round(s.gpu_equivalents * 7) : 1;
    n.style.gridColumn = slices >= 7 ? '1 / -1' : slices >= 2 ? 'span 2' : 'span 1';
    append(n, [
      el('span', { class: 'slot-id' }, s.slot),
      el('span', { class: 'profile' }, s.kind === 'full' ? 'whole GPU' : (s.profile || 'MIG')),
      el('span', { class: 'holder' }, held ? s.user : 'free'),
      held && s.container ? el('span', { class: 'container' }, s.container) : null,
      unhealthy || held || (s.state && s.state !== 'free')
        ? el('span', { class: 'state' }, unhealthy ? 'unhealthy' : (s.state || '') +
          (s.since && held ? ' since ' + fmtTime(s.since) : ''))
        : null,
      s.reserved_for ? el('span', { class: 'reserved-for' }, 'reserved: ' + s.reserved_for) : null,
      (s.host_processes || 0) > 0 || s.unmanaged
        ? el('span', { class: 'warn-note' },
          s.unmanaged ? 'unmanaged GPU process' : s.host_processes + ' host process(es)')
        : null,
      held || num(s.utilization_percent) ? utilMeter(s.utilization_percent) : null,
      held || num(s.memory_used_bytes) ? memMeter(s.memory_used_bytes, s.memory_total_bytes) : null,
    ]);
    n.title = 'slot ' + s.slot + ' · ' + fmtEq(s.gpu_equivalents) + ' GPU-equivalents' +
      (held ? ' · held by ' + s.user : ' · free');
    return n;
  }

  function renderGpus(o) {
    const gpus = Array.isArray(o.gpus) ? o.gpus : [];
    if (!gpus.length) {
      $('gpus').replaceChildren(el('p', { class: 'empty' }, 'No GPUs known to ds01d.'));
      return;
    }
    $('gpus').replaceChildren(...gpus.map((g) => {
      const slots = Array.isArray(g.slots) ? g.slots : [];
      const healthy = g.healthy !== false;
      const stats = [];
      if (num(g.temperature_c)) stats.push(g.temperature_c + ' °C');
      if (num(g.power_w)) stats.push(g.power_w.toFixed(0) + ' W');
      const heldCount = slots.filter((s) => s.user).length;
      stats.push(heldCount + ' of ' + slots.length + ' slot' + (slots.length === 1 ? '' : 's') + ' held');
      return el('article', {
        class: 'gpu' + (healthy ? '' : ' unhealthy'), 'data-gpu': g.index,
        'data-healthy': String(healthy), 'aria-label': 'GPU ' + g.index,
      },
      el('div', { class: 'gpu-head' },
        el('h3', null, 'GPU ' + g.index),
        el('span', { class: 'kind', title: g.uuid || '' },
          g.mig_enabled ? 'MIG · ' + slots.length + ' instance' + (slots.length === 1 ? '' : 's') : 'whole GPU')),
      healthy ? null : el('p', { class: 'unhealthy-note' }, 'UNHEALTHY' + (g.reason ? ': ' + g.reason : '')),
      utilMeter(g.utilization_percent),
      memMeter(g.memory_used_bytes, g.memory_total_bytes),
      el('p', { class: 'gpu-stats' }, stats.join(' · ')),
      slots.length ? el('div', { class: 'slots' }, ...slots.map(slotNode))
        : el('p', { class: 'empty' }, 'No slots: ds01 gives this GPU to nobody.'));
    }));
  }

  function limitText(v, limit, fmt) {
    return fmt(v) + ' / ' + (limit === null || limit === undefined ? 'unlimited' : fmt(limit));
  }

  function renderUsers(o) {
    const tbody = $('users').tBodies[0];
    const users = Array.isArray(o.users) ? o.users : [];
    if (!users.length) return emptyRow(tbody, 7, 'Nobody holds, runs or waits for a GPU.');
    tbody.replaceChildren(...users.map((u) => {
      const p = u.percent_of_quota;
      const cls = num(p) && p >= 100 ? 'at-limit' : num(p) && p >= 80 ? 'near' : '';
      const gpuCell = td('GPU-equivalents', limitText(u.gpu_equivalents, u.gpu_limit, fmtEq));
      if (num(u.gpu_limit) && u.gpu_limit > 0) gpuCell.appendChild(bar((100 * u.gpu_equivalents) / u.gpu_limit));
      const ctCell = td('Containers', limitText(u.containers, u.container_limit, (v) => String(v ?? 0)));
      if (num(u.container_limit) && u.container_limit > 0) ctCell.appendChild(bar((100 * u.containers) / u.container_limit));
      return el('tr', { 'data-user': u.user, class: cls || null },
        td('User', userLabel(u.user)),
        td('Group', u.group || '–'),
        gpuCell, ctCell,
        td('Memory', num(u.memory_bytes) || num(u.memory_limit_bytes)
          ? limitText(u.memory_bytes, u.memory_limit_bytes, fmtBytes) : '–'),
        el('td', { 'data-label': 'Of quota', class: 'pct num' },
          num(p) ? p.toFixed(0) + ' %' + (p >= 100 ? ' (at limit)' : p >= 80 ? ' (near)' : '') : '–'),
        td('Queued', String(u.queued ?? 0)));
    }));
  }

  function renderContainers(o) {
    const tbody = $('containers').tBodies[0];
    const cs = Array.isArray(o.containers) ? o.containers : [];
    if (!cs.length) return emptyRow(tbody, 8, 'No containers.');
    tbody.replaceChildren(...cs.map((c) => el('tr', { 'data-container': c.name || c.id, 'data-user': c.user || '' },
      td('Container', el('strong', null, c.name || (c.id || '').slice(0, 12))),
      td('Owner', c.user ? userLabel(c.user) : '–'),
      td('Type', c.type || '–'),
      td('Slots', Array.isArray(c.slots) && c.slots.length ? c.slots.join(', ') : 'none'),
      td('State', c.state || '–'),
      td('Idle', fmtDuration(c.idle_s)),
      td('Idle limit left', fmtDuration(c.idle_left_s)),
      td('Runtime left', fmtDuration(c.runtime_left_s)))));
  }

  function renderQueue(o) {
    const tbody = $('queue').tBodies[0];
    const q = Array.isArray(o.queue) ? o.queue : [];
    if (!q.length) return emptyRow(tbody, 6, 'Nobody is waiting.');
    tbody.replaceChildren(...q.map((e, i) => el('tr', { 'data-queue-id': e.id, 'data-user': e.user || '' },
      td('#', String(e.position ?? i + 1)),
      td('User', e.user ? userLabel(e.user) : '–'),
      td('Container', e.container || '–'),
      td('Slots', (e.full ? 'whole GPU × ' : '') + String(e.count ?? 1)),
      td('Waiting since', timeEl(e.arrival)),
      td('Gives up', timeEl(e.deadline)))));
  }

  function renderReservations(o) {
    const tbody = $('reservations').tBodies[0];
    const rs = Array.isArray(o.reservations) ? o.reservations : [];
    if (!rs.length) return emptyRow(tbody, 5, 'No reservations.');
    tbody.replaceChildren(...rs.map((r) => el('tr', { 'data-reservation-id': r.id },
      td('For', r.user ? 'user ' + r.user : r.group ? 'group ' + r.group : '–',
        r.active ? ' (now)' : ''),
      td('Slots', Array.isArray(r.slots) ? r.slots.join(', ') : '–'),
      td('From', timeEl(r.start)),
      td('Until', timeEl(r.end)),
      td('Reason', r.reason || '–'))));
  }

  function renderHealth(o) {
    const h = o.health || {};
    const st = h.status || 'unknown';
    $('health-status').replaceChildren(el('span', { class: 'badge', 'data-status': st }, st),
      ' ', o.nvml && o.nvml.available === false ? 'NVML unavailable: ' + (o.nvml.reason || 'unknown') : '');
    const checks = Array.isArray(h.checks) ? h.checks : [];
    $('health').replaceChildren(...(checks.length ? checks.map((c) => el('li', { 'data-check': c.name, 'data-status': c.status },
      el('span', { class: 'st st-' + (c.status || '') }, (c.status || '?').toUpperCase()),
      el('strong', null, c.name || ''), c.message ? ' – ' + c.message : ''))
      : [el('li', { class: 'empty' }, 'No checks reported.')]));
    const alerts = Array.isArray(o.alerts) ? o.alerts : [];
    $('alerts').replaceChildren(...(alerts.length ? alerts.map((a) => el('li', { 'data-user': a.user || '' },
      el('span', { class: 'st st-' + (a.level === 'reached' ? 'fail' : 'warn') }, (a.level || '').toUpperCase()),
      a.user ? userLabel(a.user) : '', ' ', a.message || a.resource || ''))
      : [el('li', { class: 'empty' }, 'No quota alerts.')]));
  }

  function detailsText(d) {
    if (!d || typeof d !== 'object') return '';
    const parts = [];
    for (const [k, v] of Object.entries(d)) {
      if (parts.length >= 5) break;
      if (v === null || v === undefined || v === '') continue;
      if (Array.isArray(v)) {
        const items = v.map((x) => (x && typeof x === 'object' ? x.slot ?? x.name ?? null : x))
          .filter((x) => x !== null && x !== undefined);
        if (items.length) parts.push(k + '=' + items.join(','));
        continue;
      }
      if (typeof v === 'object') continue;
      parts.push(k + '=' + (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)));
    }
    return parts.join(' ');
  }

  function renderEvents(o) {
    const evs = Array.isArray(o.events) ? o.events.slice(0, 50) : [];
    if (!evs.length) {
      $('events').replaceChildren(el('li', { class: 'empty' }, 'No events yet.'));
      return;
    }
    $('events').replaceChildren(...evs.map((e) => el('li', {
      'data-event-id': e.id, 'data-type': e.event_type || '', 'data-user': e.user || '',
    },
    timeEl(e.timestamp),
    el('span', { class: 'etype' }, e.event_type || '?'),
    e.user ? el('span', { class: 'euser' }, userLabel(e.user)) : null,
    el('span', { class: 'edetails' }, detailsText(e.details)))));
  }

  /* ---- the usage charts ---- */

  // The rows of a usage answer: [{key, allocated, used}] in GPU-hours.
  function usageRows(j) {
    const list = (j && (j.rows || j.users || j.by_user || j.entries)) || [];
    if (!Array.isArray(list)) return [];
    const pick = (r, names) => {
      for (const k of names) if (num(r[k])) return r[k];
      return 0;
    };
    return list.map((r) => ({
      key: String(r.user ?? r.key ?? r.name ?? r.group ?? '?'),
      allocated: pick(r, ['gpu_hours_allocated', 'allocated_gpu_hours', 'allocated_hours', 'gpu_hours']),
      used: pick(r, ['gpu_hours_used', 'used_gpu_hours', 'used_hours']),
    })).filter((r) => r.allocated > 0 || r.used > 0)
      .sort((a, b) => b.allocated - a.allocated || a.key.localeCompare(b.key));
  }

  function renderChart(fig, j, err) {
    const body = fig.querySelector('.chart-body');
    if (err) {
      body.replaceChildren(el('p', { class: 'empty' }, err));
      return;
    }
    const rows = usageRows(j);
    if (!rows.length) {
      body.replaceChildren(el('p', { class: 'empty' }, 'No GPU time in this period.'));
      return;
    }
    const days = fig.dataset.days;
    const width = Math.max(280, Math.round(body.clientWidth || 600));
    const pad = 8, labelH = 16, barH = 12, gap = 3, groupH = labelH + 2 * barH + gap + 12;
    const max = Math.max(...rows.map((r) => Math.max(r.allocated, r.used))) || 1;
    const plotW = width - 2 * pad;
    const height = pad + rows.length * groupH + 18;
    const chart = svg('svg', {
      width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img',
      'aria-label': 'GPU-hours per user, last ' + days + ' days',
    });
    rows.forEach((r, i) => {
      const y = pad + i * groupH;
      const wA = Math.max(r.allocated > 0 ? 2 : 0, (plotW * r.allocated) / max);
      const wU = Math.max(r.used > 0 ? 2 : 0, (plotW * r.used) / max);
      const pid = 'hatch-' + days + '-' + i;
      const eff = r.allocated > 0 ? ' (' + Math.round((100 * r.used) / r.allocated) + ' %)' : '';
      const g = svg('g', {
        class: 'bar-group', 'data-user': r.key, 'data-allocated': r.allocated.toFixed(4),
        'data-used': r.used.toFixed(4),
      },
      svg('title', null, r.key + ': ' + fmtHours(r.allocated) + ' GPU-hours allocated, ' +
        fmtHours(r.used) + ' used' + eff),
      svg('defs', null, svg('pattern', {
        id: pid, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)',
      }, svg('line', { class: 'hatch-line', x1: 0, y1: 0, x2: 0, y2: 6 }))),
      svg('text', { x: pad, y: y + 12 }, r.key),
      svg('text', { x: width - pad, y: y + 12, 'text-anchor': 'end', class: 'num' },
        'alloc ' + fmtHours(r.allocated) + ' h · used ' + fmtHours(r.used) + ' h' + eff),
      svg('rect', { class: 'alloc-bg', x: pad, y: y + labelH, width: wA.toFixed(1), height: barH }),
      svg('rect', { class: 'allocated', x: pad, y: y + labelH, width: wA.toFixed(1), height: barH, fill: 'url(#' + pid + ')' }),
      svg('rect', { class: 'used', x: pad, y: y + labelH + barH + gap, width: wU.toFixed(1), height: barH }));
      colourFor(g, r.key);
      chart.appendChild(g);
    });
    const yAxis = height - 14;
    chart.appendChild(svg('line', { class: 'axis', x1: pad, y1: yAxis, x2: width - pad, y2: yAxis }));
    chart.appendChild(svg('text', { x: pad, y: height - 2, class: 'num' }, '0'));
    chart.appendChild(svg('text', { x: width - pad, y: height - 2, 'text-anchor': 'end', class: 'num' },
      fmtHours(max) + ' GPU-hours'));
    body.replaceChildren(chart);
  }

  function renderCharts() {
    for (const fig of document.querySelectorAll('.chart[data-days]')) {
      const c = usageCache[fig.dataset.days];
      if (c) renderChart(fig, c.json, c.error);
    }
  }

  /* ---- fetching ---- */

  async function getJSON(url) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const r = await fetch(url, { cache: 'no-store', signal: ctl.signal, headers: { Accept: 'application/json' } });
      let j = null;
      try { j = await r.json(); } catch (e) { j = null; }
      if (!r.ok) {
        const msg = j && j.message ? j.message : 'HTTP ' + r.status;
        const err = new Error(msg);
        err.status = r.status;
        throw err;
      }
      if (!j || typeof j !== 'object') throw new Error('the answer is not JSON');
      return j;
    } catch (e) {
      if (e.name === 'AbortError') throw new Error('no answer within ' + FETCH_TIMEOUT_MS / 1000 + ' s');
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  function showError(msg) {
    const b = $('error-banner');
    b.textContent = 'Cannot read ds01d: ' + msg + '. ' +
      (lastOk ? 'Showing the state of ' + fmtTime(lastOk.toISOString()) + '; ' : '') +
      'retrying every ' + REFRESH_MS / 1000 + ' s.';
    b.hidden = false;
    root.dataset.error = 'true';
  }
  function clearError() {
    $('error-banner').hidden = true;
    root.dataset.error = 'false';
  }

  function checkOverflow() {
    root.dataset.overflow = String(root.scrollWidth > root.clientWidth + 1);
  }

  function renderOverview(o) {
    const parts = [renderHeader, renderTiles, renderGpus, renderUsers, renderContainers,
      renderQueue, renderReservations, renderHealth, renderEvents];
    for (const f of parts) {
      try { f(o); } catch (e) { console.error(f.name, e); }
    }
  }

  async function refreshUsage() {
    lastUsageAt = Date.now();
    await Promise.all(['7', '30'].map(async (days) => {
      try {
        usageCache[days] = { json: await getJSON('api/v1/usage?days=' + days + '&by=user') };
      } catch (e) {
        usageCache[days] = { error: 'Usage figures are not available: ' + e.message };
      }
    }));
    renderCharts();
    usageRendered++;
    root.dataset.usageRendered = String(usageRendered);
  }

  async function tick() {
    try {
      const o = await getJSON('api/v1/overview');
      renderOverview(o);
      lastOk = new Date();
      const u = $('updated');
      u.textContent = fmtTime(lastOk.toISOString());
      u.setAttribute('datetime', lastOk.toISOString());
      u.dataset.updated = lastOk.toISOString();
      clearError();
      if (Date.now() - lastUsageAt >= USAGE_REFRESH_MS) await refreshUsage();
      rendered++;
      root.dataset.rendered = String(rendered);
    } catch (e) {
      showError(e.message || String(e));
    }
    checkOverflow();
    setTimeout(tick, REFRESH_MS);
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { renderCharts(); checkOverflow(); }, 150);
  });

  tick();
})();
