// A patient's clinical records on the dashboard: treatment plans,
// assessments, Part 2 consents, and documents with upload and download.
import { call, download } from './api.js';
import { h, replace, field, errorBox, when, announce, table, row } from './dom.js';

const TYPES = ['other', 'treatment_plan', 'assessment', 'consent', 'lab_result', 'discharge_summary'];
const words = (value) => String(value ?? '—').replaceAll('_', ' ');

async function section(element, load) {
  try { replace(element, await load()); } catch (error) { replace(element, errorBox(error)); }
}

export function clinicalRecords(patientID) {
  const plans = h('div', {}, 'Loading…');
  const assessments = h('div', {}, 'Loading…');
  const consents = h('div', {}, 'Loading…');
  const documents = h('div', { id: 'documents' }, 'Loading…');
  section(plans, async () => table('Treatment plans', ['Plan', 'Version', 'Status', 'Review'],
    (await call('GET', `/patients/${patientID}/treatment-plans`)).data.map((p) => row(p.title, String(p.version), words(p.status), p.review_date)),
    'No treatment plans.'));
  section(assessments, async () => table('Assessments', ['Measure', 'Total', 'Band', 'When'],
    (await call('GET', `/patients/${patientID}/assessments`)).data.map((a) => row(a.instrument.toUpperCase(), a.total === null ? '—' : String(a.total), words(a.band), when(a.administered_at))),
    'No assessments.'));
  section(consents, async () => table('Consents', ['Recipient', 'Purpose', 'Status', 'Expires'],
    (await call('GET', `/patients/${patientID}/consents`)).data.map((c) => row(c.recipient, words(c.purpose), c.status, c.expires_at ? when(c.expires_at) : c.expiry_condition)),
    'No consents recorded.'));
  const loadDocuments = () => section(documents, async () => table('Documents', ['Title', 'Type', 'Size', 'Added', 'File'],
    (await call('GET', `/patients/${patientID}/documents`)).data.map((d) => row(d.title, words(d.type), `${Math.max(1, Math.round(d.size_bytes / 1024))} KiB`, when(d.created_at),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try {
          const url = URL.createObjectURL(await download(`/documents/${d.id}/content`));
          const link = h('a', { href: url, download: d.filename || d.title });
          document.body.append(link); link.click(); link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
        } catch (error) { documents.prepend(errorBox(error)); }
      } }, `Download ${d.title}`))), 'No documents.'));
  loadDocuments();

  const file = h('input', { id: 'document-file', type: 'file', required: true, accept: '.pdf,.png,.jpg,.jpeg,.txt,application/pdf,image/png,image/jpeg,text/plain' });
  const title = h('input', { id: 'document-title', required: true, maxlength: 200 });
  const type = h('select', { id: 'document-type' }, TYPES.map((t) => h('option', { value: t }, words(t))));
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
      title.value = ''; file.value = ''; replace(problems);
      announce('Document uploaded'); loadDocuments();
    } catch (error) { replace(problems, errorBox(error)); }
  } }, h('div', { class: 'fields' }, field('File (PDF, PNG, JPEG or text)', file), field('Title', title), field('Type', type),
    h('div', { class: 'field' }, h('label', { for: 'document-visible' }, visible, ' Visible to the patient in the app'))),
  problems, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload document')));

  return h('div', { class: 'two-col' },
    h('section', {}, h('h3', {}, 'Treatment plans'), plans),
    h('section', {}, h('h3', {}, 'Assessments'), assessments),
    h('section', {}, h('h3', {}, 'Consents'), consents),
    h('section', {}, h('h3', {}, 'Documents'), documents, h('h4', {}, 'Add a document'), upload));
}
