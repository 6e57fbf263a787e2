// Writing a treatment plan from the patient's page: a new draft (title,
// dates, a template or problems with their goals) or a change to the newest
// version (a signed version stays as it was; the change becomes the next
// version, a draft). Problems are edited by title and description, each goal
// the plan holds by its own title field, so its objectives, interventions,
// target date and recovery-goal link stay with it; a goal is removed by its
// own button, and new goals are added one per line.
import { call } from './api.js';
import { h, replace, field, announce, showFieldErrors, clearFieldErrors } from './dom.js';

let editors = 0;

/**
 * One goal the plan holds: its title to edit and a button that removes exactly
 * this goal, after naming the objectives that go with it. `remove(goal)` takes
 * it out of its problem.
 */
function goalRow(id, original, remove) {
  const title = h('input', { id: `${id}-title`, maxlength: 500, value: original.title || '' });
  const label = h('label', { for: title.id });
  const slot = h('div', { class: 'actions' });
  const row = h('div', { class: 'goal', id }, h('div', { class: 'field' }, label, title), slot);
  const goal = { row, label, title, original };
  const name = () => title.value.trim() || original.title || 'this goal';
  const objectives = (original.objectives || []).map((o) => o.title).filter(Boolean);
  const ask = () => {
    const question = h('p', { id: `${id}-confirm` }, objectives.length
      ? `Remove the goal “${name()}” with its objectives: ${objectives.map((o) => `“${o}”`).join(', ')}?`
      : `Remove the goal “${name()}”? It has no objectives.`);
    const yes = h('button', { type: 'button', class: 'danger', 'aria-describedby': question.id, onclick: () => remove(goal) }, `Yes, remove “${name()}”`);
    const keep = h('button', { type: 'button', class: 'secondary', onclick: () => { replace(slot, start); start.focus(); } }, 'Keep it');
    replace(slot, question, yes, keep);
    yes.focus();
  };
  const start = h('button', { type: 'button', class: 'secondary', onclick: ask });
  goal.number = (n) => { label.textContent = `Goal ${n}`; start.textContent = `Remove goal ${n}`; };
  replace(slot, start);
  return goal;
}

// One problem of the plan: title, description, the goals it holds and new goals one per line.
function problemBlock(prefix, index, problem = {}) {
  const n = `${prefix}-problem-${index}`;
  const title = h('input', { id: `${n}-title`, maxlength: 500, value: problem.title || '' });
  const description = h('textarea', { id: `${n}-description`, rows: 2, maxlength: 2000 }, problem.description || '');
  const newGoals = h('textarea', { id: `${n}-new-goals`, rows: 3 });
  const block = { original: problem, title, description, newGoals, goals: [] };
  const renumber = () => block.goals.forEach((g, i) => g.number(i + 1));
  const remove = (goal) => {
    const at = block.goals.indexOf(goal);
    block.goals.splice(at, 1);
    goal.row.remove();
    renumber();
    if (!block.goals.length) held.remove();
    announce(`Goal “${goal.title.value.trim() || goal.original.title}” removed; the plan changes when it is saved`);
    const next = block.goals[at] || block.goals[at - 1];
    (next ? next.title : newGoals).focus();
  };
  block.goals = (problem.goals || []).map((goal, k) => goalRow(`${n}-goal-${k}`, goal, remove));
  renumber();
  const held = block.goals.length
    ? h('fieldset', { class: 'goals' }, h('legend', {}, 'Goals'), block.goals.map((g) => g.row))
    : null;
  block.block = h('fieldset', { class: 'problem' }, h('legend', {}, `Problem ${index + 1}`),
    field('Problem', title), field('Description (optional)', description), held,
    field(held ? 'New goals, one per line' : 'Goals, one per line', newGoals));
  return block;
}

/** The plan's content from the problem blocks: each goal's edited title laid over what that goal held. */
function content(blocks) {
  const problems = [];
  for (const b of blocks) {
    const kept = b.goals.map((g) => ({ ...g.original, title: g.title.value.trim() }));
    const added = b.newGoals.value.split('\n').map((line) => line.trim()).filter(Boolean).map((title) => ({ title }));
    const blank = !b.title.value.trim() && !b.description.value.trim() && !kept.length && !added.length;
    const path = `content.problems[${problems.length}]`;
    for (const [control, name] of [[b.title, 'title'], [b.description, 'description'], [b.newGoals, 'goals']]) {
      if (blank) delete control.dataset.field; else control.dataset.field = `${path}.${name}`;
    }
    b.goals.forEach((g, i) => { g.row.dataset.field = `${path}.goals[${i}]`; g.title.dataset.field = `${path}.goals[${i}].title`; });
    if (blank) continue;
    const problem = { ...b.original, title: b.title.value.trim(), goals: [...kept, ...added] };
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
