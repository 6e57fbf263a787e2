// A patient's dashboard: the summary the API computes, charts of the last 30
// days drawn from the records endpoints (mood from check-ins, cravings,
// medication adherence from doses), insights, relapse risk and reports,
// flags, care team and sobriety history. A role without clinical reading
// sees the patient's details (and consents, where it manages them).
import { call, may } from './api.js';
import { h, replace, errorBox, when, announce, table } from './dom.js';
import { lineChart, barChart } from './charts.js';
import { keySlip } from './patients.js';
import { clinicalRecords, consentRecords } from './clinical.js';
import { insightsPanel } from './insights.js';

const DAYS = 30;

function dayOf(value) { return (value || '').slice(0, 10); }
function lastDays() {
  const days = [];
  for (let i = DAYS - 1; i >= 0; i--) days.push(new Date(Date.now() - i * 86_400_000).toISOString().slice(0, 10));
  return days;
}
async function optional(path) {
  try { return await call('GET', path); } catch (error) { return { error }; }
}

export async function dashboardPage(main, patientID) {
  replace(main, h('p', {}, 'Loading…'));
  const from = new Date(Date.now() - DAYS * 86_400_000).toISOString().slice(0, 10);
  let detail;
  try { detail = await call('GET', `/patients/${patientID}`); } catch (error) { replace(main, h('h1', {}, 'Patient'), errorBox(error)); return; }
  if (!may('patients.read_clinical')) { detailsOnly(main, detail); return; }
  const range = `from=${from}&limit=100`;
  const [summary, checkIns, cravings, doses, flags, team, goals] = await Promise.all([
    optional(`/patients/${patientID}/dashboard`), optional(`/patients/${patientID}/check-ins?${range}`),
    optional(`/patients/${patientID}/cravings?${range}`), optional(`/patients/${patientID}/medication-doses?${range}`),
    optional(`/patients/${patientID}/flags?limit=50`), optional(`/patients/${patientID}/care-team`), optional(`/patients/${patientID}/goals`)]);
  const patient = detail.patient;

  const card = (value, text) => h('div', { class: 'card' }, h('p', { class: 'value' }, value ?? '—'), h('p', { class: 'label' }, text));
  const cards = summary.error ? errorBox(summary.error) : h('div', { class: 'cards' },
    card(summary.days_sober, 'days sober'), card(summary.average_mood7d?.toFixed(1), 'average mood, 7 days'),
    card(summary.average_craving7d?.toFixed(1), 'average craving, 7 days'), card(summary.check_ins7d, 'check-ins, 7 days'),
    card(summary.medication_adherence === null ? null : `${Math.round(summary.medication_adherence * 100)} %`, 'medication adherence'),
    card(summary.meetings30d, 'meetings, 30 days'), card(summary.open_flags, 'open flags'), card(summary.open_crisis_alerts, 'open crisis alerts'));

  const days = lastDays();
  const mood = checkIns.error ? [] : [...checkIns.data].sort((a, b) => a.local_date.localeCompare(b.local_date)).map((c) => ({ day: c.local_date, value: c.mood }));
  const cravingsByDay = new Map();
  for (const c of cravings.error ? [] : cravings.data) {
    const day = dayOf(c.occurred_at);
    const entry = cravingsByDay.get(day) || { count: 0, peak: 0 };
    entry.count += 1; entry.peak = Math.max(entry.peak, c.intensity);
    cravingsByDay.set(day, entry);
  }
  const cravingBars = days.map((day) => ({ day, value: cravingsByDay.get(day)?.peak || 0, label: cravingsByDay.has(day) ? `${cravingsByDay.get(day).count} cravings, peak ${cravingsByDay.get(day).peak}` : 'none' }));
  const dosesByDay = new Map();
  for (const d of doses.error ? [] : doses.data) {
    const day = dayOf(d.taken_at || d.scheduled_for || d.updated_at);
    const entry = dosesByDay.get(day) || { taken: 0, all: 0 };
    entry.all += 1; if (d.status !== 'skipped') entry.taken += 1;
    dosesByDay.set(day, entry);
  }
  const adherenceBars = days.filter((day) => dosesByDay.has(day)).map((day) => {
    const e = dosesByDay.get(day);
    return { day, value: Math.round((100 * e.taken) / e.all), missed: e.taken < e.all, label: `${e.taken} of ${e.all} doses taken` };
  });

  const charts = h('div', { class: 'charts' },
    checkIns.error ? errorBox(checkIns.error) : lineChart(`Mood (1–10), last ${DAYS} days`, mood),
    cravings.error ? errorBox(cravings.error) : barChart(`Cravings: peak intensity per day, last ${DAYS} days`, cravingsByDay.size ? cravingBars : [], 10,
      (total) => `${[...cravingsByDay.values()].reduce((s, e) => s + e.count, 0)} cravings`),
    doses.error ? errorBox(doses.error) : barChart(`Medication adherence per day (%), last ${DAYS} days`, adherenceBars, 100,
      (_, bars) => `${bars.filter((b) => !b.missed).length} of ${bars.length} days fully taken`));

  const recent = checkIns.error ? errorBox(checkIns.error) : table('Recent check-ins', ['Day', 'Mood', 'Craving', 'Stress', 'Used'],
    [...checkIns.data].sort((a, b) => b.local_date.localeCompare(a.local_date)).slice(0, 10).map((c) => h('tr', {},
      h('td', {}, c.local_date), h('td', {}, c.mood), h('td', {}, c.craving ?? '—'), h('td', {}, c.stress ?? '—'), h('td', {}, c.used_since_last ? 'yes' : 'no'))),
    'No check-ins in the last 30 days.');
  const flagList = flags.error ? errorBox(flags.error) : table('Flags', ['Kind', 'Status', 'Raised'],
    flags.data.map((f) => h('tr', {}, h('td', {}, f.kind.replaceAll('_', ' ')), h('td', {}, f.status), h('td', {}, when(f.raised_at)))), 'No flags.');
  const teamList = team.error ? errorBox(team.error) : table('Care team', ['Name', 'Role', 'From', 'Until'],
    team.data.map((m) => h('tr', {}, h('td', {}, `${m.first_name} ${m.last_name}`), h('td', {}, m.role.replaceAll('_', ' ')),
      h('td', {}, m.starts_on), h('td', {}, m.ends_on || (m.ended_at ? dayOf(m.ended_at) : 'current')))), 'Nobody is assigned yet.');
  const sobriety = goals.error ? errorBox(goals.error) : h('div', {},
    h('p', {}, patient.sobriety_date ? `Sober since ${patient.sobriety_date} (${goals.days_sober ?? detail.days_sober ?? 0} days).` : 'No sobriety date recorded.'),
    table('Sobriety milestones', ['Milestone', 'Date', 'Reached'], goals.milestones.map((m) => h('tr', {},
      h('td', {}, `${m.days} days`), h('td', {}, m.date), h('td', {}, m.reached ? 'yes' : 'not yet'))), 'No milestones.'));

  replace(main, ...heading(main, detail),
    h('h2', {}, 'Summary'), cards, h('h2', {}, 'Trends'), charts, insightsPanel(patient),
    h('div', { class: 'two-col' },
      h('section', {}, h('h2', {}, 'Recent check-ins'), recent),
      h('section', {}, h('h2', {}, 'Flags'), flagList),
      h('section', {}, h('h2', {}, 'Care team'), teamList),
      h('section', {}, h('h2', {}, 'Sobriety history'), sobriety)),
    h('h2', {}, 'Clinical records'), clinicalRecords(patientID));
  announce(`Dashboard of ${patient.first_name} ${patient.last_name}`);
}

// The patient's name, number, status and the actions the role may take.
function heading(main, detail) {
  const patient = detail.patient;
  const reissue = patient.registered || !may('registration_keys.manage') ? null : h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try { keySlip(main, patient, await call('POST', `/patients/${patient.id}/registration-key`)); } catch (error) { main.prepend(errorBox(error)); }
  } }, 'Issue a new registration key');
  return [h('h1', {}, `${patient.first_name} ${patient.last_name}`),
    h('p', {}, `${patient.patient_number} · ${patient.status.replaceAll('_', ' ')} · ${patient.level_of_care ? patient.level_of_care : 'level of care not set'}`
      + (detail.length_of_stay_days !== null ? ` · day ${detail.length_of_stay_days} of stay` : '')),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: `#/messages?patient=${patient.id}` }, 'Message the patient'), reissue)];
}

function detailsOnly(main, detail) {
  const patient = detail.patient;
  replace(main, ...heading(main, detail),
    h('p', { class: 'notice', id: 'details-only' }, 'Your role sees this patient\'s details, not their clinical records.'),
    h('dl', {}, h('dt', {}, 'Program'), h('dd', {}, patient.program || '—'), h('dt', {}, 'Admitted'), h('dd', {}, patient.admission_date || '—'),
      h('dt', {}, 'Registered in the app'), h('dd', {}, patient.registered ? 'yes' : 'not yet')),
    may('consents.manage') ? consentRecords(patient.id) : null);
  announce(`Details of ${patient.first_name} ${patient.last_name}`);
}
