// The staff console's shell: sign-in, navigation and the page table. Each
// page is one entry (a hash route, its navigation label, its module's render
// function, the permission it needs), so new pages are added here as the API
// grows. The menu shows only the pages the member's role may use.
import { on, currentUser, accessToken, signOut, may } from './api.js';
import { h, replace } from './dom.js';
import { live } from './realtime.js';
import { signInPage } from './signin.js';
import { patientListPage, newPatientPage } from './patients.js';
import { dashboardPage } from './dashboard.js';
import { messagesPage, trackUnread } from './messages.js';
import { startCrisisBanner, stopCrisisBanner } from './crisis.js';
import { announcementsPage, auditPage, federationPage, backupsPage } from './operations.js';

const ID = '([0-9a-fA-F-]{36})';
const pages = [
  { route: new RegExp('^/patients/new$'), render: (main) => newPatientPage(main), nav: null, section: 'patients', title: 'New patient', needs: 'patients.create' },
  { route: new RegExp(`^/patients/${ID}$`), render: (main, [id]) => dashboardPage(main, id), nav: null, section: 'patients', title: 'Patient dashboard', needs: 'patients.read_demographics' },
  { route: /^\/patients$/, render: (main, _, query) => patientListPage(main, query), nav: 'Patients', href: '#/patients', section: 'patients', title: 'Patients', needs: 'patients.read_demographics' },
  { route: new RegExp(`^/messages(?:/${ID})?$`), render: (main, [id], query) => messagesPage(main, id, query), nav: 'Messages', href: '#/messages', section: 'messages', title: 'Messages', badge: true, needs: 'messages.use' },
  { route: /^\/announcements$/, render: (main) => announcementsPage(main), nav: 'Announcements', href: '#/announcements', section: 'announcements', title: 'Announcements', needs: null },
  { route: /^\/audit$/, render: (main, _, query) => auditPage(main, query), nav: 'Audit', href: '#/audit', section: 'audit', title: 'Audit trail', needs: 'audit.read' },
  { route: /^\/federation$/, render: (main) => federationPage(main), nav: 'Federation', href: '#/federation', section: 'federation', title: 'Federation', needs: 'federation.manage' },
  { route: /^\/backups$/, render: (main) => backupsPage(main), nav: 'Backups', href: '#/backups', section: 'backups', title: 'Backups', needs: 'appliance.operate' },
];
const usable = (page) => !page.needs || may(page.needs);

const main = document.getElementById('main');
const top = document.getElementById('top');
const nav = document.getElementById('nav');
const banner = document.getElementById('crisis-banner');
const navLinks = new Map();

function render() {
  live.leavePage();
  if (!currentUser()) return;
  const [path, query = ''] = (location.hash.slice(1) || '/patients').split('?');
  const page = pages.find((p) => p.route.test(path));
  if (!page) { location.replace('#/patients'); return; }
  const captures = page.route.exec(path).slice(1);
  for (const [section, link] of navLinks) link.setAttribute('aria-current', section === page.section ? 'page' : 'false');
  document.title = `${page.title} — Recovery Appliance`;
  if (usable(page)) page.render(main, captures, query);
  else notForRole(page);
  main.focus();
}

// A page the member's role may not use, reached by its address: said plainly, nothing requested.
function notForRole(page) {
  replace(main, h('h1', {}, page.title),
    h('p', { class: 'notice', id: 'not-for-role' }, `Your role (${currentUser().role.replaceAll('_', ' ')}) cannot use this page. `
      + 'If your work needs it, ask an administrator of your clinic.'),
    h('p', {}, h('a', { href: '#/patients' }, 'Go to the patient list')));
}

function buildNavigation() {
  replace(nav);
  navLinks.clear();
  for (const page of pages.filter((p) => p.nav && usable(p))) {
    const badge = page.badge ? h('span', { class: 'badge', id: 'unread-badge', hidden: true }) : null;
    const link = h('a', { href: page.href }, page.nav, badge);
    navLinks.set(page.section, link);
    nav.append(h('li', {}, link));
    if (badge) trackUnread(badge);
  }
}

on('signedin', (user) => {
  top.hidden = false;
  document.getElementById('who').textContent = `${user.first_name} ${user.last_name} (${user.role.replaceAll('_', ' ')})`;
  live.connect(accessToken());
  buildNavigation();
  if (may('crisis.respond')) startCrisisBanner(banner);
  if (!location.hash || location.hash === '#/') location.hash = '#/patients';
  else render();
});

on('token', (token) => live.refreshToken(token));

on('signedout', (reason) => {
  live.disconnect();
  live.leavePage();
  stopCrisisBanner();
  top.hidden = true;
  replace(nav);
  document.getElementById('who').textContent = '';
  history.replaceState(null, '', '/');
  document.title = 'Recovery Appliance — Staff console';
  signInPage(main, reason);
});

document.getElementById('sign-out').addEventListener('click', () => signOut('You have signed out.'));
window.addEventListener('hashchange', render);
signInPage(main);

