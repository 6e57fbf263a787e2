// The API client and the signed-in session. Tokens live in this module's
// memory only (never localStorage, sessionStorage or cookies): closing or
// reloading the tab signs out. The server's staff idle limit is honoured
// here too: with no request for that long the console signs out and forgets.

const BASE = '/api/v1';
const idleMinutes = Number(document.querySelector('meta[name="recovery-staff-idle-minutes"]')?.content) || 30;

let session = null; // {access, refresh, expiresAt, user, permissions}
let lastRequestAt = 0;
const listeners = { signedin: [], signedout: [], token: [] };

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || `http_${status}`;
    this.details = error.details || [];
  }
}

export function on(event, handler) { listeners[event].push(handler); }
function emit(event, value) { for (const handler of listeners[event]) handler(value); }

export function currentUser() { return session?.user || null; }
export function accessToken() { return session?.access || null; }
export function idleLimitMinutes() { return idleMinutes; }
/** Whether the member's role carries `permission` (as `GET /auth/me` lists them); the API still decides every request. */
export function may(permission) { return session?.permissions.has(permission) ?? false; }

async function send(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  const response = await fetch(BASE + path, init);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** A request without a session (sign-in steps). */
export function publicCall(method, path, body) { return send(method, path, body, null); }

/** A request with tokens not yet adopted (the password change an administrator-set password requires first). */
export function callWithToken(token, method, path, body) { return send(method, path, body, token); }

/** A request as the signed-in member; refreshes the access token when it is about to expire. */
export async function call(method, path, body) {
  if (!session) throw new ApiError(401, { error: { message: 'You are signed out.' } });
  if (Date.now() > session.expiresAt - 60_000) await refresh();
  lastRequestAt = Date.now();
  try {
    return await send(method, path, body, session.access);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut('Your session has ended. Please sign in again.');
    throw error;
  }
}

/** A file the member may read (a document's bytes), as a Blob. */
export async function download(path) {
  if (!session) throw new ApiError(401, { error: { message: 'You are signed out.' } });
  if (Date.now() > session.expiresAt - 60_000) await refresh();
  lastRequestAt = Date.now();
  const response = await fetch(BASE + path, { headers: { Authorization: `Bearer ${session.access}` }, cache: 'no-store', credentials: 'omit' });
  if (!response.ok) {
    const error = new ApiError(response.status, await response.json().catch(() => null));
    if (response.status === 401) signOut('Your session has ended. Please sign in again.');
    throw error;
  }
  return response.blob();
}

async function refresh() {
  const tokens = await send('POST', '/auth/refresh', { refresh_token: session.refresh }, null).catch((error) => {
    signOut('Your session has ended. Please sign in again.');
    throw error;
  });
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  session.expiresAt = Date.now() + tokens.expires_in * 1000;
  emit('token', session.access);
}

/** Keeps the tokens of a finished sign-in, learns the role's permissions, and starts the session. */
export async function adopt(tokens) {
  const me = await send('GET', '/auth/me', undefined, tokens.access_token);
  session = { access: tokens.access_token, refresh: tokens.refresh_token, expiresAt: Date.now() + tokens.expires_in * 1000,
    user: tokens.user, permissions: new Set(me.permissions) };
  lastRequestAt = Date.now();
  emit('signedin', session.user);
}

/** Ends the session on the server (when it still can) and forgets every token and page. */
export function signOut(reason) {
  if (!session) return;
  const token = session.access;
  session = null;
  send('POST', '/auth/logout', undefined, token).catch(() => {});
  emit('signedout', reason || 'You have signed out.');
}

// HIPAA automatic logoff: the server ends a staff session idle past its limit; the console follows.
setInterval(() => {
  if (session && Date.now() - lastRequestAt > idleMinutes * 60_000) {
    signOut(`You were signed out after ${idleMinutes} minutes without activity.`);
  }
}, 10_000);
