// Building the page from data without HTML strings: text always goes in as
// text, so nothing a record holds can become markup or script.

/** An element: attributes (`class`, `for`, `on<event>` handlers, others as given) and children. */
export function h(tag, attributes = {}, ...children) {
  const svg = ['svg', 'g', 'path', 'line', 'polyline', 'circle', 'rect', 'text', 'title'].includes(tag);
  const element = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Says something to screen readers through the page's polite status region. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = '';
  setTimeout(() => { status.textContent = text; }, 50);
}

/** A labelled form field; `id` ties label and control together. */
export function field(label, control, hint) {
  const hintID = hint ? control.id + '-hint' : null;
  if (hintID) control.setAttribute('aria-describedby', hintID);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint', id: hintID }, hint) : null);
}

/** An error box for a failed request, naming the fields the server named. */
export function errorBox(error) {
  const details = (error.details || []).map((d) => h('li', {}, `${d.field}: ${d.issue}`));
  return h('div', { class: 'error', role: 'alert' }, h('p', {}, error.message || 'Something went wrong.'), details.length ? h('ul', {}, details) : null);
}

/** Whether the API's field name `name` (`content.problems[0].title`) is `path` or lies inside it. */
function within(name, path) {
  return name === path || name.startsWith(path + '.') || name.startsWith(path + '[');
}

/** Removes the field errors `showFieldErrors` placed in `form`. */
export function clearFieldErrors(form) {
  for (const message of form.querySelectorAll('.field-error')) message.remove();
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
  for (const control of form.querySelectorAll('[data-error-id]')) {
    const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== control.dataset.errorId);
    if (ids.length) control.setAttribute('aria-describedby', ids.join(' ')); else control.removeAttribute('aria-describedby');
    delete control.dataset.errorId;
  }
}

/**
 * A failed request's problems: each field the API named is marked next to its
 * control (the control, or a group of controls, whose `data-field` is that name
 * or the nearest enclosing one) and described by it; `box` gets the summary, an
 * alert screen readers announce. Focus moves to the first field in error.
 */
export function showFieldErrors(form, box, error) {
  clearFieldErrors(form);
  const targets = [...form.querySelectorAll('[data-field]')];
  let first = null;
  for (const detail of error.details || []) {
    const target = targets.filter((t) => within(detail.field || '', t.dataset.field))
      .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
    if (!target) continue;
    let message = target.dataset.errorId ? document.getElementById(target.dataset.errorId) : null;
    if (message) { message.append(h('br'), `${detail.field}: ${detail.issue}`); continue; }
    const id = `${target.id}-error`;
    message = h('p', { class: 'field-error', id }, detail.field === target.dataset.field ? detail.issue : `${detail.field}: ${detail.issue}`);
    const control = target.matches('input, select, textarea');
    if (control) { target.after(message); target.setAttribute('aria-invalid', 'true'); } else target.append(message);
    target.dataset.errorId = id;
    target.setAttribute('aria-describedby', [target.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    first ||= control ? target : target.querySelector('input, select, textarea');
  }
  replace(box, errorBox(error));
  first?.focus();
}

/** Hands a file held in memory to the browser as a download (through a short-lived blob URL). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A date-time for people, in the browser's time zone. */
export function when(value) {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** Parses a server-drawn SVG document into a node (never as HTML). */
export function svgNode(text) {
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = parsed.documentElement;
  if (root.nodeName !== 'svg' || root.querySelector('script, foreignObject')) return h('p', {}, 'The QR code could not be shown.');
  return document.importNode(root, true);
}

// A table of `rows` with a caption for screen readers, or `empty` when there are none.
export function table(caption, headers, rows, empty) {
  return rows.length
    ? h('table', {}, h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows))
    : h('p', {}, empty);
}

// A table row of text cells; a missing value shows as a dash.
export const row = (...cells) => h('tr', {}, cells.map((c) => h('td', {}, c ?? '—')));
