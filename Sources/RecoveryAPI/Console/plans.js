// Writing a treatment plan from the patient's page: a new draft (title,
// dates, a template or problems with their goals) or a change to the newest
// version (a signed version stays as it was; the change becomes the next
// version, a draft). Problems and goals are edited by title and description;
// what else a plan holds (objectives, interventions, target dates) is kept.
import { call } from './api.js';
import { h, replace, field, announce, showFieldErrors, clearFieldErrors } from './dom.js';

let editors = 0;

// One problem of the plan: title, description and its goals one per line.
function problemBlock(prefix, index, problem = {}) {
  const n = `${prefix}-problem-${index}`;
  const title = h('input', { id: `${n}-title`, maxlength: 500, value: problem.title || '' });
  const description = h('textarea', { id: `${n}-description`, rows: 2, maxlength: 2000 }, problem.description || '');
  const goals = h('textarea', { id: `${n}-goals`, rows: 3 }, (problem.goals || []).map((g) => g.title).join('\n'));
  const block = h('fieldset', { class: 'problem' }, h('legend', {}, `Problem ${index + 1}`),
    field('Problem', title), field('Description (optional)', description), field('Goals, one per line', goals));
  return { block, original: problem, title, description, goals };
}

/** The plan's content from the problem blocks: the edited text laid over what the plan held. */
function content(blocks) {
  const problems = [];
  for (const b of blocks) {
    const goalLines = b.goals.value.split('\n').map((line) => line.trim()).filter(Boolean);
    const blank = !b.title.value.trim() && !b.description.value.trim() && !goalLines.length;
    const path = `content.problems[${problems.length}]`;
    for (const [control, name] of [[b.title, 'title'], [b.description, 'description'], [b.goals, 'goals']]) {
      if (blank) delete control.dataset.field; else control.dataset.field = `${path}.${name}`;
    }
    if (blank) continue;
    const problem = { ...b.original, title: b.title.value.trim(), goals: goalLines.map((title, i) => ({ ...(b.original.goals?.[i] || {}), title })) };
    if (b.description.value.trim()) problem.description = b.description.value.trim(); else delete problem.description;
    problems.push(problem);
  }
  return { problems };
}

/**
 * The plan form: `plan` null for a new plan of `patientID`, else the newest
 * version to change. `done(plan)` runs after the API stored it.
 */
export function planEditor(patientID, plan, done, cancel) {
  const prefix = `plan${++editors}`;
  const title = h('input', { id: `${prefix}-title`, 'data-field': 'title', required: true, maxlength: 200, value: plan?.title || '' });
  const start = h('input', { id: `${prefix}-start`, type: 'date', 'data-field': 'start_date', value: plan?.start_date || '' });
  const review = h('input', { id: `${prefix}-review`, type: 'date', 'data-field': 'review_date', value: plan?.review_date || '' });
  const template = plan ? null : h('select', { id: `${prefix}-template`, 'data-field': 'template_id' }, h('option', { value: '' }, 'No template'));
  if (template) {
    call('GET', '/treatment-plan-templates').then((list) => template.append(...list.data.filter((t) => t.is_active)
      .map((t) => h('option', { value: t.id }, `${t.name} (version ${t.version})`)))).catch(() => {});
  }
  const blocks = [];
  const problemList = h('div', { class: 'problems', 'data-field': 'content', id: `${prefix}-problems` });
  const addProblem = (problem) => { const b = problemBlock(prefix, blocks.length, problem); blocks.push(b); problemList.append(b.block); return b; };
  for (const problem of plan?.content?.problems || []) addProblem(problem);
  if (!blocks.length) addProblem();
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'editor', id: `${prefix}-form`, novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFieldErrors(form); replace(problems);
    const body = { title: title.value.trim(), content: content(blocks) };
    if (start.value) body.start_date = start.value;
    if (review.value) body.review_date = review.value;
    if (template?.value) { body.template_id = template.value; delete body.content; }
    try {
      const saved = plan ? await call('PATCH', `/treatment-plans/${plan.id}`, body) : await call('POST', `/patients/${patientID}/treatment-plans`, body);
      const stored = saved.treatment_plan;
      announce(plan && stored.version > plan.version ? `Plan saved as version ${stored.version}, a draft` : 'Treatment plan saved');
      done(stored);
    } catch (error) { showFieldErrors(form, problems, error); }
  } }, h('fieldset', {}, h('legend', {}, plan ? `Change “${plan.title}” (version ${plan.version}${plan.signed ? ', signed: the change becomes the next version' : ''})` : 'New treatment plan'),
    problems,
    h('div', { class: 'fields' }, field('Title', title), field('Start date', start), field('Review date', review),
      template ? field('Template', template, 'A template supplies the problems and goals; change them afterwards.') : null),
    problemList,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => addProblem().title.focus() }, 'Add a problem'),
      h('button', { type: 'submit' }, plan ? 'Save changes' : 'Create plan'),
      cancel ? h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel') : null)));
  return form;
}
