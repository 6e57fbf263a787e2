// A patient's insights (seven, a sentence each), the relapse-risk score with
// every factor, and the PDF reports. A report is fetched with the session's
// token in a header (never in the address) and saved from memory.
import { call, download, may } from './api.js';
import { h, replace, field, errorBox, when, table, row, announce, saveBlob, showFieldErrors, clearFieldErrors } from './dom.js';

const LABELS = {
  mood_trend: 'Mood trend', craving_pattern: 'Craving pattern', top_triggers: 'Top triggers', check_in_streaks: 'Check-in streaks',
  halt_frequency: 'HALT', meeting_adherence: 'Meetings', medication_adherence: 'Medication',
};
const words = (value) => String(value).replaceAll('_', ' ');
const isoDay = (date) => date.toISOString().slice(0, 10);

async function fill(element, load) {
  try { replace(element, await load()); } catch (error) { replace(element, errorBox(error)); }
}

async function insightList(patientID) {
  const answer = await call('GET', `/patients/${patientID}/insights`);
  return [h('p', { class: 'hint' }, `The 30 days up to ${answer.as_of}, on the facility's calendar.`),
    h('ul', { class: 'insights' }, answer.insights.map((i) => h('li', { 'data-kind': i.kind }, h('strong', {}, `${LABELS[i.kind] || words(i.kind)}: `), i.sentence)))];
}

async function riskScore(patientID) {
  const { risk, flag_threshold: threshold } = await call('GET', `/patients/${patientID}/risk`);
  if (!risk) return h('p', {}, `No score yet: the server scores a patient once there are records. The facility flags scores from ${threshold}.`);
  const factors = [...risk.factors].sort((a, b) => b.contribution - a.contribution);
  return [
    h('p', { class: `risk risk-${risk.level}`, id: 'risk-score' }, h('strong', {}, `${Math.round(risk.score)} of 100`), ` · ${risk.level}`),
    h('p', { class: 'hint' }, `Scored ${when(risk.computed_at)} by ${risk.model_version}; the facility flags scores from ${threshold}. `
      + 'The score informs the care team; it decides nothing by itself.'),
    table('Relapse-risk factors', ['Factor', 'Value', 'Weight', 'Contribution'],
      factors.map((f) => row(words(f.factor), f.value === null ? 'no data' : f.value.toFixed(2), f.weight.toFixed(2), f.contribution.toFixed(2))),
      'No factors.'),
  ];
}

// A form that downloads one report: its inputs are the report's query, errors show at the field the API names.
function reportForm(id, legend, controls, path, filename) {
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'report', id, onsubmit: async (event) => {
    event.preventDefault();
    clearFieldErrors(form); replace(problems);
    const query = new URLSearchParams(controls.filter(([, c]) => c.value).map(([name, c]) => [name, c.value]));
    try {
      saveBlob(await download(`${path}?${query}`), filename(query));
      announce(`${legend} downloaded`);
    } catch (error) { showFieldErrors(form, problems, error); }
  } }, h('fieldset', {}, h('legend', {}, legend), h('div', { class: 'fields' }, controls.map(([, c, label]) => field(label, c)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, `Download ${legend.toLowerCase()} (PDF)`)))), problems);
  return form;
}

function reports(patient) {
  const today = new Date();
  const from = h('input', { id: 'report-from', type: 'date', 'data-field': 'from', value: isoDay(new Date(today.getTime() - 29 * 86_400_000)) });
  const to = h('input', { id: 'report-to', type: 'date', 'data-field': 'to', value: isoDay(today) });
  const forms = [reportForm('progress-report', 'Progress report', [['from', from, 'From'], ['to', to, 'To']],
    `/patients/${patient.id}/reports/progress.pdf`, (q) => `progress-${patient.patient_number}-${q.get('from') || 'start'}-${q.get('to') || 'today'}.pdf`)];
  if (may('facility.reports')) {
    const month = h('input', { id: 'report-month', type: 'month', 'data-field': 'month', required: true, value: isoDay(today).slice(0, 7) });
    forms.push(reportForm('monthly-report', 'Monthly report', [['month', month, 'Month']],
      `/facilities/${patient.facility_id}/reports/monthly.pdf`, (q) => `monthly-${q.get('month')}.pdf`));
  }
  return forms;
}

/** The insights, risk and reports of one patient, for the dashboard. */
export function insightsPanel(patient) {
  const insights = h('div', { id: 'insights' }, 'Loading…');
  const risk = h('div', { id: 'risk' }, 'Loading…');
  fill(insights, () => insightList(patient.id));
  fill(risk, () => riskScore(patient.id));
  return h('div', { class: 'two-col insights-panel' },
    h('section', {}, h('h2', {}, 'Insights'), insights),
    h('section', {}, h('h2', {}, 'Relapse risk'), risk,
      h('h3', {}, 'Reports'), reports(patient)));
}
