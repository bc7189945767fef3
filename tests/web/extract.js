// extract.js - evaluated in the dashboard by cdp.py: what the page shows, as
// JSON, for test-dashboard.sh to compare with the daemon's own answers.
(() => {
  const root = document.documentElement;
  const all = (sel, from) => Array.from((from || document).querySelectorAll(sel));
  const text = (n) => (n ? n.textContent.trim() : null);
  const visible = (n) => !!n && !n.hidden && n.getClientRects().length > 0;
  const charts = {};
  for (const fig of all('.chart[data-days]')) {
    charts[fig.dataset.days] = {
      bars: all('g.bar-group', fig).map((g) => ({
        user: g.dataset.user,
        allocated: Number(g.dataset.allocated),
        used: Number(g.dataset.used),
        label: text(g.querySelector('text')),
        rects: g.querySelectorAll('rect').length,
      })),
      text: text(fig.querySelector('.chart-body')),
    };
  }
  // Elements sticking out of the window on the right (why a page overflows).
  const wide = [];
  for (const n of all('body *')) {
    const r = n.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth + 1 && wide.length < 10)
      wide.push(n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') +
        (n.className && typeof n.className === 'string' ? '.' + n.className.split(' ').join('.') : '') +
        ' right=' + Math.round(r.right));
  }
  return {
    rendered: Number(root.dataset.rendered || 0),
    usage_rendered: Number(root.dataset.usageRendered || 0),
    overflow_attr: root.dataset.overflow || null,
    scroll_width: root.scrollWidth,
    client_width: root.clientWidth,
    inner_width: window.innerWidth,
    wide,
    banner_visible: visible(document.getElementById('error-banner')),
    banner: text(document.getElementById('error-banner')),
    updated: document.getElementById('updated').dataset.updated || null,
    health: document.getElementById('health-badge').dataset.status,
    gpus: all('.gpu').map((g) => ({
      gpu: g.dataset.gpu,
      healthy: g.dataset.healthy,
      slots: all('.slot', g).map((s) => s.dataset.slot),
      note: text(g.querySelector('.unhealthy-note')),
    })),
    slots: all('.slot').map((s) => ({
      slot: s.dataset.slot,
      user: s.dataset.user,
      holder: text(s.querySelector('.holder')),
      container: text(s.querySelector('.container')),
      state: s.dataset.state,
      free: s.classList.contains('free'),
      held: s.classList.contains('held'),
      hue: s.style.getPropertyValue('--hue') || null,
      reserved: text(s.querySelector('.reserved-for')),
      visible: visible(s),
    })),
    users: all('#users tbody tr[data-user]').map((tr) => ({
      user: tr.dataset.user,
      cells: all('td', tr).map(text),
    })),
    containers: all('#containers tbody tr[data-container]').map((tr) => ({
      name: tr.dataset.container,
      user: tr.dataset.user,
      cells: all('td', tr).map(text),
    })),
    reservations: all('#reservations tbody tr[data-reservation-id]').map((tr) => ({
      id: Number(tr.dataset.reservationId),
      cells: all('td', tr).map(text),
    })),
    events: all('#events li[data-event-id]').map((li) => ({
      id: Number(li.dataset.eventId),
      type: li.dataset.type,
      user: li.dataset.user,
    })),
    health_checks: all('#health li[data-check]').map((li) => li.dataset.check),
    charts,
  };
})()
