// The crisis-alert banner on every page: the alerts the member reaches that
// are not resolved, kept current by realtime events, each with Acknowledge
// and Resolve (a note is required to resolve).
import { call } from './api.js';
import { h, replace, field, errorBox, when, announce } from './dom.js';
import { live } from './realtime.js';

let banner = null;
let inputs = 0;

export function startCrisisBanner(element) {
  banner = element;
  for (const event of ['crisis:alert', 'crisis:escalated', 'crisis:acknowledged', 'crisis:resolved', 'resync']) {
    live.onSession(event, (data) => {
      if (event === 'crisis:alert') announce(`Crisis alert for patient ${data.patient_number}`);
      load();
    });
  }
  live.onSession('status', (status) => { if (status === 'connected') load(); });
  load();
}

export function stopCrisisBanner() {
  if (banner) { replace(banner); banner.hidden = true; }
  banner = null;
}

let loads = 0;

async function load() {
  if (!banner) return;
  const mine = ++loads; // events can overlap: only the newest answer is drawn
  let alerts;
  try {
    alerts = (await call('GET', '/crisis-alerts?status=active&limit=20')).data;
    if (mine !== loads) return;
  } catch (error) {
    if (mine !== loads) return;
    if (error.status === 403) { banner.hidden = true; return; } // the role does not respond to crisis alerts
    replace(banner, errorBox(error)); banner.hidden = false; return;
  }
  if (!banner) return;
  banner.hidden = alerts.length === 0;
  replace(banner, h('h2', {}, alerts.length === 1 ? '1 active crisis alert' : `${alerts.length} active crisis alerts`),
    h('ul', {}, alerts.map(alertItem)));
}

function alertItem(alert) {
  const who = `${alert.patient.first_name} ${alert.patient.last_name} (${alert.patient.patient_number})`;
  const problems = h('div', { 'aria-live': 'assertive' });
  const act = async (path, body) => {
    try { await call('POST', `/crisis-alerts/${alert.id}/${path}`, body); announce(path === 'acknowledge' ? 'Alert acknowledged' : 'Alert resolved'); load(); }
    catch (error) { replace(problems, errorBox(error)); }
  };
  const note = h('input', { id: `resolve-note-${++inputs}`, required: true, maxlength: 4000 });
  const resolve = h('form', { onsubmit: (event) => { event.preventDefault(); if (note.value.trim()) act('resolve', { note: note.value.trim() }); } },
    field('Resolution note', note), h('button', { type: 'submit', class: 'secondary' }, 'Resolve'));
  return h('li', { 'data-alert-id': alert.id },
    h('strong', {}, `${alert.severity.toUpperCase()} · ${alert.status}`),
    h('a', { href: `#/patients/${alert.patient.id}` }, who),
    h('span', {}, when(alert.created_at)),
    alert.message ? h('span', {}, `“${alert.message}”`) : null,
    alert.status === 'acknowledged' ? null : h('button', { type: 'button', class: 'danger', onclick: () => act('acknowledge') }, 'Acknowledge'),
    resolve, problems);
}
