// The patient list (search, filters, paging), creating a patient, and the
// registration-key slip. The key and its QR code exist only in this page's
// memory until the slip is closed: they are never put in the address bar.
import { call, may } from './api.js';
import { h, replace, field, errorBox, svgNode, announce, when } from './dom.js';

const STATUSES = ['pending_registration', 'active', 'discharged', 'inactive'];
const LEVELS = ['detox', 'residential', 'php', 'iop', 'outpatient', 'alumni'];
const label = (value) => value.replaceAll('_', ' ');

export async function patientListPage(main, query) {
  const params = new URLSearchParams(query);
  const page = Math.max(1, Number(params.get('page')) || 1);
  const search = h('input', { id: 'search', type: 'search', value: params.get('search') || '' });
  const status = h('select', { id: 'status-filter' }, h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, label(s))));
  const program = h('input', { id: 'program-filter', value: params.get('program') || '' });
  const from = h('input', { id: 'admitted-from', type: 'date', value: params.get('admitted_from') || '' });
  const to = h('input', { id: 'admitted-to', type: 'date', value: params.get('admitted_to') || '' });
  const results = h('div', { id: 'patient-results' }, h('p', {}, 'Loading…'));
  const form = h('form', { role: 'search', 'aria-label': 'Patients', onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (search.value.trim()) next.set('search', search.value.trim());
    if (status.value) next.set('status', status.value);
    if (program.value.trim()) next.set('program', program.value.trim());
    if (from.value) next.set('admitted_from', from.value);
    if (to.value) next.set('admitted_to', to.value);
    location.hash = `#/patients?${next}`;
  } }, h('div', { class: 'fields' },
    field('Name or patient number', search, 'Whole first or last name, "first last", or a number like P-K9M2P4N8.'),
    field('Status', status), field('Program', program), field('Admitted from', from), field('Admitted to', to),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search'))));
  replace(main, h('div', { class: 'actions' }, h('h1', {}, 'Patients'),
    may('patients.create') ? h('a', { class: 'button', href: '#/patients/new' }, 'New patient') : null), form, results);

  params.set('page', String(page));
  params.set('limit', '25');
  try {
    const list = await call('GET', `/patients?${params}`);
    const p = list.pagination;
    const rows = list.data.map((patient) => h('tr', {},
      h('td', {}, h('a', { href: `#/patients/${patient.id}` }, `${patient.last_name}, ${patient.first_name}`)),
      h('td', {}, patient.patient_number), h('td', {}, label(patient.status)), h('td', {}, patient.program || '—'),
      h('td', {}, patient.level_of_care ? label(patient.level_of_care) : '—'), h('td', {}, patient.admission_date || '—')));
    const pageLink = (n, text) => {
      const next = new URLSearchParams(params); next.set('page', String(n)); next.delete('limit');
      return h('a', { class: 'button secondary', href: `#/patients?${next}` }, text);
    };
    replace(results,
      list.data.length ? h('table', {}, h('caption', { class: 'visually-hidden' }, 'Patients'),
        h('thead', {}, h('tr', {}, ['Name', 'Patient number', 'Status', 'Program', 'Level of care', 'Admitted'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)) : h('p', {}, 'No patients match.'),
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, p.page > 1 ? pageLink(p.page - 1, 'Previous page') : null,
        h('span', {}, `Page ${p.page} of ${Math.max(p.total_pages, 1)} · ${p.total} patients`),
        p.page < p.total_pages ? pageLink(p.page + 1, 'Next page') : null));
    announce(`${p.total} patients`);
  } catch (error) { replace(results, errorBox(error)); }
}

export function newPatientPage(main) {
  const input = (id, type = 'text', extra = {}) => h('input', { id, name: id, type, ...extra });
  const controls = {
    first_name: input('first_name', 'text', { required: true, autocomplete: 'off' }),
    last_name: input('last_name', 'text', { required: true, autocomplete: 'off' }),
    date_of_birth: input('date_of_birth', 'date', { required: true }),
    email: input('email', 'text', { autocomplete: 'off', inputmode: 'email' }),
    phone: input('phone', 'text', { autocomplete: 'off', inputmode: 'tel' }),
    program: input('program'),
    level_of_care: h('select', { id: 'level_of_care' }, h('option', { value: '' }, 'Not set'), LEVELS.map((l) => h('option', { value: l }, label(l)))),
    admission_date: input('admission_date', 'date'),
    sobriety_date: input('sobriety_date', 'date'),
  };
  const names = { first_name: 'First name', last_name: 'Last name', date_of_birth: 'Date of birth', email: 'Email (optional)', phone: 'Phone (optional)',
    program: 'Program', level_of_care: 'Level of care', admission_date: 'Admission date', sobriety_date: 'Sobriety date' };
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { onsubmit: async (event) => {
    event.preventDefault();
    const body = {};
    for (const [key, control] of Object.entries(controls)) if (control.value.trim()) body[key] = control.value.trim();
    try {
      const created = await call('POST', '/patients', body);
      keySlip(main, created.patient, created);
    } catch (error) { replace(problems, errorBox(error)); }
  } }, h('div', { class: 'fields' }, Object.entries(controls).map(([key, control]) => field(names[key], control))),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create patient'), h('a', { href: '#/patients' }, 'Cancel')));
  replace(main, h('h1', {}, 'New patient'), problems, form);
  controls.first_name.focus();
}

/** The printable slip with a key the server just issued (`issued`: registration_key, its QR SVG, key_expires_at). */
export function keySlip(main, patient, issued) {
  const done = h('a', { class: 'button secondary', href: `#/patients/${patient.id}` }, 'Done');
  replace(main, h('h1', { class: 'no-print' }, 'Registration key'),
    h('p', { class: 'notice no-print' }, 'The key is shown only now. Print the slip and hand it to the patient; it cannot be shown again (a new key can be issued).'),
    h('section', { class: 'slip', 'aria-label': 'Registration key slip' },
      h('h2', {}, `${patient.first_name} ${patient.last_name}`),
      h('p', {}, `Patient number ${patient.patient_number}`),
      h('p', {}, 'Your registration key for the recovery app:'),
      h('p', { class: 'key', id: 'registration-key' }, issued.registration_key),
      h('div', { class: 'qr', id: 'registration-qr' }, svgNode(issued.registration_key_qr_svg)),
      h('p', {}, `Valid until ${when(issued.key_expires_at)}. It works once. Letter case and dashes do not matter.`)),
    h('div', { class: 'actions no-print' }, h('button', { type: 'button', onclick: () => window.print() }, 'Print slip'), done));
  done.focus();
}
