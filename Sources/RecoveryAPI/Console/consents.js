// Part 2 consents on the patient's page (42 CFR 2.31): recording one as the
// patient signed it, and recording its revocation. Each release under a
// consent is checked against it by the server.
import { call } from './api.js';
import { h, replace, field, announce, showFieldErrors, clearFieldErrors } from './dom.js';

const PURPOSES = ['treatment', 'payment', 'health_care_operations', 'care_coordination', 'legal', 'court_order', 'employment', 'family', 'research', 'other'];
const SCOPES = ['all', 'assessments', 'treatment_plans', 'documents', 'attendance', 'medications', 'diagnosis', 'lab_results', 'discharge_summary', 'progress'];
const SIGNERS = ['patient', 'guardian', 'personal_representative'];
const words = (value) => value.replaceAll('_', ' ');
const today = () => new Date().toISOString().slice(0, 10);

/** The form to record a consent; `done(consent)` runs after the API stored it. */
export function consentForm(patientID, done) {
  const input = (id, name, extra = {}) => h('input', { id: `consent-${id}`, 'data-field': name, ...extra });
  const recipient = input('recipient', 'recipient', { maxlength: 500 });
  const purpose = h('select', { id: 'consent-purpose', 'data-field': 'purpose' }, h('option', { value: '' }, 'Choose a purpose'),
    PURPOSES.map((p) => h('option', { value: p }, words(p))));
  const scopes = SCOPES.map((s) => h('input', { type: 'checkbox', id: `consent-scope-${s}`, value: s }));
  const scope = h('fieldset', { id: 'consent-scope', 'data-field': 'information_scope', class: 'choices' }, h('legend', {}, 'Information that may be disclosed'),
    scopes.map((box) => h('label', { for: box.id }, box, ' ', words(box.value))));
  const detail = h('textarea', { id: 'consent-detail', 'data-field': 'information_detail', rows: 2, maxlength: 2000 });
  const expires = input('expires', 'expires_at', { type: 'date' });
  const condition = input('condition', 'expiry_condition', { maxlength: 500 });
  const signedBy = h('select', { id: 'consent-signed-by', 'data-field': 'signed_by' }, SIGNERS.map((s) => h('option', { value: s }, words(s))));
  const signer = input('signer', 'signer_name', { maxlength: 200, autocomplete: 'off' });
  const signedOn = input('signed-on', 'signed_on', { type: 'date', value: today() });
  const discloser = input('discloser', 'discloser', { maxlength: 200 });
  const problems = h('div', { 'aria-live': 'assertive' });

  const form = h('form', { class: 'editor', id: 'consent-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFieldErrors(form); replace(problems);
    const body = { recipient: recipient.value.trim(), purpose: purpose.value || null,
      information_scope: scopes.filter((box) => box.checked).map((box) => box.value),
      signed_by: signedBy.value, signer_name: signer.value.trim(), signed_on: signedOn.value || null };
    if (detail.value.trim()) body.information_detail = detail.value.trim();
    // The end of the chosen day in the browser's time zone.
    if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59`).toISOString();
    if (condition.value.trim()) body.expiry_condition = condition.value.trim();
    if (discloser.value.trim()) body.discloser = discloser.value.trim();
    try {
      const { consent } = await call('POST', `/patients/${patientID}/consents`, body);
      form.reset(); signedOn.value = today();
      announce(`Consent for ${consent.recipient} recorded`);
      done(consent);
    } catch (error) { showFieldErrors(form, problems, error); }
  } }, h('fieldset', {}, h('legend', {}, 'Record a consent'), problems,
    h('div', { class: 'fields' }, field('Recipient', recipient), field('Purpose', purpose)),
    scope, field('What exactly, in the form\'s words (optional)', detail),
    h('div', { class: 'fields' }, field('Expires on', expires, 'Or give the event or condition below.'),
      field('Expires on the event or condition', condition),
      field('Signed by', signedBy), field('Name as signed', signer), field('Signed on', signedOn),
      field('Discloser (optional)', discloser, 'Default: the facility\'s name.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Record consent'))));
  return form;
}

/** A Revoke button for an active consent, asking once more before it records the revocation. */
export function revokeButton(consent, done, problems) {
  const slot = h('span', { class: 'actions' });
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'danger', onclick: async () => {
      try {
        await call('POST', `/consents/${consent.id}/revoke`);
        announce(`Consent for ${consent.recipient} revoked`);
        done();
      } catch (error) { showFieldErrors(slot, problems, error); }
    } }, `Yes, revoke the consent for ${consent.recipient}`);
    replace(slot, yes, h('button', { type: 'button', class: 'secondary', onclick: () => { replace(slot, start()); slot.querySelector('button').focus(); } }, 'Keep it'));
    yes.focus();
  };
  const start = () => h('button', { type: 'button', class: 'secondary', onclick: ask }, `Revoke consent for ${consent.recipient}`);
  replace(slot, start());
  return slot;
}
