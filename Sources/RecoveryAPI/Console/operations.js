// Pages for the facility's running: announcements, the audit trail,
// federation status with its disclosure log, and the backups. Each shows
// what the API answers the member; the menu offers a page only to roles
// with its permission.
import { call, may } from './api.js';
import { h, replace, field, errorBox, when, announce, table, row } from './dom.js';

export async function announcementsPage(main) {
  const list = h('div', {}, h('p', {}, 'Loading…'));
  const title = h('input', { id: 'announcement-title', required: true, maxlength: 200 });
  const body = h('textarea', { id: 'announcement-body', rows: 4, required: true });
  const audience = h('select', { id: 'announcement-audience' }, ['all', 'staff', 'patients'].map((a) => h('option', { value: a }, a)));
  const priority = h('select', { id: 'announcement-priority' }, ['normal', 'low', 'high', 'urgent'].map((p) => h('option', { value: p }, p)));
  const problems = h('div', { 'aria-live': 'assertive' });
  const load = async () => {
    try {
      const mine = await call('GET', '/announcements?scope=mine&limit=50');
      replace(list, table('Announcements', ['Title', 'Message', 'Priority', 'Published'],
        mine.data.map((a) => row(a.title, a.body, a.priority, when(a.published_at))), 'No announcements for you.'));
    } catch (error) { replace(list, errorBox(error)); }
  };
  const form = h('form', { class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    try {
      await call('POST', '/announcements', { title: title.value.trim(), body: body.value.trim(), audience: audience.value, priority: priority.value });
      title.value = ''; body.value = '';
      replace(problems); announce('Announcement published'); load();
    } catch (error) { replace(problems, errorBox(error)); }
  } }, field('Title', title), field('Message', body), field('Audience', audience), field('Priority', priority),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Publish')));
  replace(main, h('h1', {}, 'Announcements'), list, may('announcements.manage') ? [h('h2', {}, 'New announcement'),
    h('p', { class: 'hint' }, 'Plain facility notices, never about a patient.'), problems, form] : null);
  load();
}

export async function auditPage(main, query) {
  const params = new URLSearchParams(query);
  const page = Math.max(1, Number(params.get('page')) || 1);
  const action = h('input', { id: 'audit-action', value: params.get('action') || '' });
  const from = h('input', { id: 'audit-from', type: 'date' });
  const to = h('input', { id: 'audit-to', type: 'date' });
  const results = h('div', {}, h('p', {}, 'Loading…'));
  const form = h('form', { 'aria-label': 'Audit filters', onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (action.value.trim()) next.set('action', action.value.trim());
    if (from.value) next.set('from', `${from.value}T00:00:00Z`);
    if (to.value) next.set('to', `${to.value}T23:59:59Z`);
    location.hash = `#/audit?${next}`;
  } }, h('div', { class: 'fields' }, field('Action', action, 'For example patient.read or auth.login.'), field('From', from), field('To', to),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show'))));
  replace(main, h('h1', {}, 'Audit trail'), form, results);
  for (const [key, control] of [['from', from], ['to', to]]) if (params.get(key)) control.value = params.get(key).slice(0, 10);
  params.set('page', String(page)); params.set('limit', '50');
  try {
    const log = await call('GET', `/audit-logs?${params}`);
    const p = log.pagination;
    const link = (n, text) => { const next = new URLSearchParams(params); next.set('page', String(n)); next.delete('limit'); return h('a', { class: 'button secondary', href: `#/audit?${next}` }, text); };
    replace(results, table('Audit entries', ['When', 'Actor', 'Action', 'Outcome', 'Patient', 'Request'],
      log.data.map((e) => row(when(e.occurred_at), `${e.actor_kind} ${e.actor_id ? e.actor_id.slice(0, 8) : ''}`, e.action, e.outcome,
        e.patient_id ? h('a', { href: `#/patients/${e.patient_id}` }, e.patient_id.slice(0, 8)) : (e.patient_ids?.length ? `${e.patient_ids.length} patients` : null),
        e.request_id)), 'No entries match.'),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, p.page > 1 ? link(p.page - 1, 'Previous page') : null,
      h('span', {}, `Page ${p.page} of ${Math.max(p.total_pages, 1)} · ${p.total} entries`), p.page < p.total_pages ? link(p.page + 1, 'Next page') : null));
  } catch (error) { replace(results, errorBox(error)); }
}

export async function federationPage(main) {
  const status = h('div', {}, h('p', {}, 'Loading…'));
  const log = h('div', {});
  replace(main, h('h1', {}, 'Federation'), h('h2', {}, 'Status'), status, h('h2', {}, 'Disclosure log'),
    h('p', { class: 'hint' }, 'Every aggregate payload made for the organisation\'s central instance: what, when, to whom.'), log);
  try {
    const s = await call('GET', '/federation/status');
    replace(status, h('dl', {},
      h('dt', {}, 'Enrolled'), h('dd', {}, s.enrolled ? 'yes' : 'no'), h('dt', {}, 'Central'), h('dd', {}, s.central_url || '—'),
      h('dt', {}, 'Last delivery'), h('dd', {}, when(s.last_success_at)), h('dt', {}, 'Waiting to send'), h('dd', {}, String(s.queue_depth)),
      h('dt', {}, 'Last error'), h('dd', {}, s.last_error || 'none')));
    const d = await call('GET', '/federation/disclosures?limit=50');
    replace(log, table('Disclosures', ['Period', 'Recipient', 'Status', 'Made', 'Sent', 'Attempts'],
      d.data.map((x) => row(x.period, x.recipient, x.status, when(x.created_at), when(x.sent_at), String(x.attempts))), 'Nothing has been sent.'));
  } catch (error) { replace(status, errorBox(error)); }
}

export async function backupsPage(main) {
  const list = h('div', {}, h('p', {}, 'Loading…'));
  replace(main, h('h1', {}, 'Backups'), list);
  try {
    const b = await call('GET', '/admin/backups');
    replace(list, h('p', {}, `Schedule ${b.schedule}; kept ${b.keep_daily} daily and ${b.keep_weekly} weekly, in ${b.directory}. Newest verified: ${when(b.newest_verified_at)}.`),
      table('Backups', ['File', 'Made', 'State', 'Size', 'Verified'],
        b.data.map((x) => row(x.file, when(x.created_at), x.error ? `${x.state}: ${x.error}` : x.state,
          x.bytes === undefined ? null : `${(x.bytes / 1_048_576).toFixed(1)} MiB`, when(x.verified_at))), 'No backups yet.'));
  } catch (error) { replace(list, errorBox(error)); }
}
