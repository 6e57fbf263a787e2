// Signing in: password, then the authenticator code; or, where the clinic's
// policy requires a second factor the account does not have yet, enrolment
// (the key as a QR code to scan or text to type into the app, its first code,
// then the recovery codes).
import { publicCall, callWithToken, adopt, ApiError } from './api.js';
import { h, replace, field, errorBox, svgNode } from './dom.js';

export function signInPage(main, message) {
  const email = h('input', { id: 'email', type: 'email', autocomplete: 'email', required: true });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'stack', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    replace(problems);
    try {
      const answer = await publicCall('POST', '/auth/staff/login', { email: email.value, password: password.value });
      password.value = '';
      if (answer.mfa_enrolment_required) enrolPage(main, answer.mfa_token);
      else if (answer.mfa_required) codePage(main, answer.mfa_token);
      else await finish(main, answer);
    } catch (error) { replace(problems, errorBox(error)); }
  } }, field('Email', email), field('Password', password), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  replace(main, h('div', { class: 'signin' }, h('h1', {}, 'Staff sign-in'),
    message ? h('p', { class: 'notice', role: 'status' }, message) : null, problems, form));
  email.focus();
}

function codePage(main, mfaToken) {
  const code = h('input', { id: 'code', inputmode: 'numeric', autocomplete: 'off', required: true });
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    try { await finish(main, await publicCall('POST', '/auth/mfa/verify', { mfa_token: mfaToken, code: code.value.trim() })); }
    catch (error) { replace(problems, errorBox(error)); if (error instanceof ApiError && error.status === 401) code.value = ''; }
  } }, field('Authenticator code', code, 'The 6-digit code from your authenticator app, or one of your recovery codes.'),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Verify')));
  replace(main, h('div', { class: 'signin' }, h('h1', {}, 'Second factor'), problems, form));
  code.focus();
}

async function enrolPage(main, mfaToken) {
  const problems = h('div', { 'aria-live': 'assertive' });
  replace(main, h('div', { class: 'signin' }, h('h1', {}, 'Set up your authenticator'), problems));
  let setup;
  try { setup = await publicCall('POST', '/auth/mfa/enrol/setup', { mfa_token: mfaToken }); }
  catch (error) { replace(problems, errorBox(error)); return; }
  const code = h('input', { id: 'code', inputmode: 'numeric', autocomplete: 'off', required: true });
  const form = h('form', { class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const answer = await publicCall('POST', '/auth/mfa/enrol/confirm', { mfa_token: mfaToken, code: code.value.trim() });
      recoveryCodesPage(main, answer);
    } catch (error) { replace(problems, errorBox(error)); }
  } }, field('First code from the app', code), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Confirm')));
  main.querySelector('.signin').append(
    h('p', {}, 'Your clinic requires a second factor. Scan this code with an authenticator app, or type the key below into it as a time-based key; then enter the code the app shows.'),
    h('div', { class: 'qr', id: 'totp-qr' }, svgNode(setup.otpauth_qr_svg)),
    h('p', { class: 'secret', id: 'totp-secret' }, setup.secret), form);
  code.focus();
}

function recoveryCodesPage(main, tokens) {
  const problems = h('div', { 'aria-live': 'assertive' });
  const go = h('button', { type: 'button', onclick: () => finish(main, tokens).catch((error) => replace(problems, errorBox(error))) }, 'Continue to the console');
  replace(main, h('div', { class: 'signin' }, h('h1', {}, 'Your recovery codes'), problems,
    h('p', {}, 'Each code signs you in once if you lose your phone. They are shown only now: print them or keep them in a password manager.'),
    h('ul', { class: 'codes', id: 'recovery-codes' }, (tokens.recovery_codes || []).map((c) => h('li', {}, c))),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print'), go)));
  go.focus();
}

async function finish(main, tokens) {
  if (tokens.password_change_required) { changePasswordPage(main, tokens); return; }
  await adopt(tokens);
}

function changePasswordPage(main, tokens) {
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true });
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    try {
      await callWithToken(tokens.access_token, 'POST', '/auth/change-password', { current_password: current.value, new_password: next.value });
      await adopt({ ...tokens, password_change_required: false });
    } catch (error) { replace(problems, errorBox(error)); }
  } }, field('Current password', current), field('New password', next), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Change password')));
  replace(main, h('div', { class: 'signin' }, h('h1', {}, 'Choose your own password'),
    h('p', {}, 'Your password was set by an administrator. Choose a new one to continue.'), problems, form));
  current.focus();
}
