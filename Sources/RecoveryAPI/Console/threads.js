// Starting a staff thread from the messages page: a title and the colleagues
// to include (the active staff of the member's facility the API lists).
import { call, currentUser } from './api.js';
import { h, replace, field, announce, showFieldErrors, clearFieldErrors } from './dom.js';

/** The form; the new thread opens once the API made it. */
export function newStaffThreadForm() {
  const title = h('input', { id: 'thread-title', 'data-field': 'title', maxlength: 200 });
  const people = h('fieldset', { id: 'thread-people', 'data-field': 'participant_ids', class: 'choices' }, h('legend', {}, 'Colleagues'), 'Loading…');
  const problems = h('div', { 'aria-live': 'assertive' });
  const boxes = [];
  call('GET', '/staff?active=true&limit=100').then((list) => {
    const others = list.data.filter((s) => s.id !== currentUser().id);
    replace(people, h('legend', {}, 'Colleagues'), others.length ? others.map((s) => {
      const box = h('input', { type: 'checkbox', id: `thread-person-${s.id}`, value: s.id });
      boxes.push(box);
      return h('label', { for: box.id }, box, ' ', `${s.first_name} ${s.last_name} (${s.role.replaceAll('_', ' ')})`);
    }) : h('p', {}, 'No colleagues yet.'));
  }).catch((error) => showFieldErrors(form, problems, error));
  const form = h('form', { class: 'editor', id: 'thread-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFieldErrors(form); replace(problems);
    const body = { kind: 'staff', participant_ids: boxes.filter((b) => b.checked).map((b) => b.value) };
    if (title.value.trim()) body.title = title.value.trim();
    try {
      const { conversation } = await call('POST', '/conversations', body);
      announce('Thread started');
      location.hash = `#/messages/${conversation.id}`;
    } catch (error) { showFieldErrors(form, problems, error); }
  } }, h('fieldset', {}, h('legend', {}, 'New staff thread'), problems, field('Title (optional)', title), people,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Start thread'))));
  return form;
}
