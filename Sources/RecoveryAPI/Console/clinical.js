// A patient's clinical records on the dashboard: treatment plans (new,
// change, sign), assessments (record), Part 2 consents (record, revoke), and
// documents with upload and download. Each form is offered to roles with its
// permission; the API decides every request.
import { call, download, may } from './api.js';
import { h, replace, field, errorBox, when, announce, table, row, saveBlob, showFieldErrors, clearFieldErrors } from './dom.js';
import { planEditor } from './plans.js';
import { assessmentForm } from './assessments.js';
import { consentForm, revokeButton } from './consents.js';

const TYPES = ['other', 'treatment_plan', 'assessment', 'consent', 'lab_result', 'discharge_summary'];
const words = (value) => String(value ?? '—').replaceAll('_', ' ');

async function section(element, load) {
  try { replace(element, await load()); } catch (error) { replace(element, errorBox(error)); }
}

function planSection(patientID) {
  const list = h('div', { id: 'treatment-plans' }, 'Loading…');
  const editor = h('div', {});
  const edit = (plan) => {
    const close = () => { replace(editor, start); start.focus(); };
    const form = planEditor(patientID, plan, () => { close(); load(); }, close);
    replace(editor, form);
    form.querySelector('input').focus();
  };
  const start = may('treatment_plans.write') ? h('button', { type: 'button', onclick: () => edit(null) }, 'New treatment plan') : null;
  const sign = async (plan) => {
    try { await call('POST', `/treatment-plans/${plan.id}/sign`); announce(`${plan.title} signed`); load(); } catch (error) { list.prepend(errorBox(error)); }
  };
  const load = () => section(list, async () => table('Treatment plans', ['Plan', 'Version', 'Status', 'Review', 'Actions'],
    (await call('GET', `/patients/${patientID}/treatment-plans`)).data.map((p) => row(p.title, String(p.version), words(p.status) + (p.signed ? ', signed' : ''), p.review_date,
      h('span', { class: 'actions' },
        may('treatment_plans.write') ? h('button', { type: 'button', class: 'secondary', onclick: () => edit(p) }, `Change ${p.title}`) : null,
        !p.signed && may('treatment_plans.sign') ? h('button', { type: 'button', class: 'secondary', onclick: () => sign(p) }, `Sign ${p.title}`) : null))),
    'No treatment plans.'));
  load();
  if (start) replace(editor, start);
  return h('section', {}, h('h3', {}, 'Treatment plans'), list, editor);
}

function assessmentSection(patientID) {
  const list = h('div', { id: 'assessments' }, 'Loading…');
  const load = () => section(list, async () => table('Assessments', ['Measure', 'Total', 'Band', 'When'],
    (await call('GET', `/patients/${patientID}/assessments`)).data.map((a) => row(a.instrument.toUpperCase(), a.total === null ? '—' : String(a.total), words(a.band), when(a.administered_at))),
    'No assessments.'));
  load();
  return h('section', {}, h('h3', {}, 'Assessments'), list, may('assessments.administer') ? assessmentForm(patientID, load) : null);
}

/** The patient's consents with recording and revocation (also for roles that manage consents without clinical reading). */
export function consentRecords(patientID) {
  const list = h('div', { id: 'consents' }, 'Loading…');
  const problems = h('div', { 'aria-live': 'assertive' });
  const load = () => section(list, async () => table('Consents', ['Recipient', 'Purpose', 'Scope', 'Status', 'Expires', ''],
    (await call('GET', `/patients/${patientID}/consents`)).data.map((c) => row(c.recipient, words(c.purpose), c.information_scope.map(words).join(', '), c.status,
      c.expires_at ? when(c.expires_at) : c.expiry_condition, c.status === 'active' ? revokeButton(c, load, problems) : null)),
    'No consents recorded.'));
  load();
  return h('section', {}, h('h3', {}, 'Consents'), problems, list, consentForm(patientID, load));
}

export function clinicalRecords(patientID) {
  const documents = h('div', { id: 'documents' }, 'Loading…');
  const loadDocuments = () => section(documents, async () => table('Documents', ['Title', 'Type', 'Size', 'Added', 'File'],
    (await call('GET', `/patients/${patientID}/documents`)).data.map((d) => row(d.title, words(d.type), `${Math.max(1, Math.round(d.size_bytes / 1024))} KiB`, when(d.created_at),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { saveBlob(await download(`/documents/${d.id}/content`), d.filename || d.title); } catch (error) { documents.prepend(errorBox(error)); }
      } }, `Download ${d.title}`))), 'No documents.'));
  loadDocuments();

  const file = h('input', { id: 'document-file', 'data-field': 'file', type: 'file', required: true, accept: '.pdf,.png,.jpg,.jpeg,.txt,application/pdf,image/png,image/jpeg,text/plain' });
  const title = h('input', { id: 'document-title', 'data-field': 'title', required: true, maxlength: 200 });
  const type = h('select', { id: 'document-type', 'data-field': 'type' }, TYPES.map((t) => h('option', { value: t }, words(t))));
  const visible = h('input', { id: 'document-visible', type: 'checkbox' });
  const problems = h('div', { 'aria-live': 'assertive' });
  const upload = h('form', { onsubmit: async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    const body = new FormData();
    body.append('title', title.value.trim());
    body.append('type', type.value);
    body.append('patient_visible', visible.checked ? 'true' : 'false');
    body.append('file', file.files[0]);
    try {
      await call('POST', `/patients/${patientID}/documents`, body);
      title.value = ''; file.value = ''; clearFieldErrors(upload); replace(problems);
      announce('Document uploaded'); loadDocuments();
    } catch (error) { showFieldErrors(upload, problems, error); }
  } }, h('div', { class: 'fields' }, field('File (PDF, PNG, JPEG or text)', file), field('Title', title), field('Type', type),
    h('div', { class: 'field' }, h('label', { for: 'document-visible' }, visible, ' Visible to the patient in the app'))),
  problems, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload document')));

  return h('div', { class: 'records' }, planSection(patientID), assessmentSection(patientID),
    may('consents.manage') ? consentRecords(patientID) : null,
    h('section', {}, h('h3', {}, 'Documents'), documents, may('documents.manage') ? [h('h4', {}, 'Add a document'), upload] : null));
}
