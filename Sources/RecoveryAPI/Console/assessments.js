// Recording a standardised assessment from the patient's page: the measure,
// each item with its answer labels (the instruments as the API describes
// them), and a note. The server scores it; a crisis-level answer raises an alert.
import { call } from './api.js';
import { h, replace, field, announce, showFieldErrors, clearFieldErrors } from './dom.js';

let instruments = null; // loaded once per page: they are the box's built-in data

/** The form; `done(assessment)` runs after the API stored and scored it. */
export function assessmentForm(patientID, done) {
  const instrument = h('select', { id: 'assessment-instrument', 'data-field': 'instrument' }, h('option', { value: '' }, 'Choose a measure'));
  const items = h('fieldset', { id: 'assessment-items', 'data-field': 'answers', hidden: true });
  const notes = h('textarea', { id: 'assessment-notes', 'data-field': 'notes', rows: 2, maxlength: 4000 });
  const problems = h('div', { 'aria-live': 'assertive' });
  const answers = [];
  (instruments ||= call('GET', '/assessment-instruments').then((list) => list.data)).then((list) => {
    instrument.append(...list.map((i) => h('option', { value: i.id }, `${i.name} (${i.item_count} items)`)));
  }).catch((error) => { instruments = null; showFieldErrors(form, problems, error); });

  const showItems = async () => {
    answers.length = 0;
    const chosen = (await instruments).find((i) => i.id === instrument.value);
    items.hidden = !chosen;
    if (!chosen) { replace(items); return; }
    const choices = chosen.options.map((o) => h('option', { value: o.score }, `${o.score}: ${o.label}`));
    replace(items, h('legend', {}, chosen.name), chosen.period ? h('p', { class: 'hint' }, chosen.period) : null,
      chosen.items.map((text, i) => {
        const select = h('select', { id: `assessment-item-${i + 1}` }, h('option', { value: '' }, 'Not answered'), choices.map((c) => c.cloneNode(true)));
        answers.push(select);
        return field(`${i + 1}. ${text}`, select);
      }));
  };
  instrument.addEventListener('change', showItems);

  const form = h('form', { class: 'editor', id: 'assessment-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFieldErrors(form); replace(problems);
    const body = { instrument: instrument.value || null, answers: answers.map((a) => (a.value === '' ? null : Number(a.value))) };
    if (notes.value.trim()) body.notes = notes.value.trim();
    try {
      const { assessment } = await call('POST', `/patients/${patientID}/assessments`, body);
      announce(`${assessment.instrument.toUpperCase()} recorded` + (assessment.total === null ? '' : `: total ${assessment.total}`)
        + (assessment.band ? `, ${assessment.band.replaceAll('_', ' ')}` : '') + (assessment.crisis_alert_id ? '. A crisis alert was raised.' : ''));
      instrument.value = ''; notes.value = ''; showItems();
      done(assessment);
    } catch (error) { showFieldErrors(form, problems, error); }
  } }, h('fieldset', {}, h('legend', {}, 'Record an assessment'), problems,
    field('Measure', instrument), items, field('Note (optional)', notes),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Record assessment'))));
  return form;
}
