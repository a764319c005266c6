// The JSON API under /api/v1, its error shape, the 401 → sign-in rule and event streams.

import { noteServerDate } from './util.js';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

let redirecting = false;

/** The sign-in page's URL, remembering where to come back to. */
export function loginUrl() {
  const here = location.pathname + location.search;
  // Slashes stay readable in the query ("next=/runs/abc"); everything else is escaped.
  return '/login?next=' + encodeURIComponent(here).replace(/%2F/gi, '/');
}

export function goToLogin() {
  if (redirecting) return;
  redirecting = true;
  location.assign(loginUrl());
}

/**
 * Call the API: api('/runs?limit=50'), api('/runs', {method: 'POST', body: {...}}).
 * Resolves with the parsed JSON (null for 204), rejects with an ApiError carrying the
 * server's message. A 401 sends the browser to the sign-in page.
 */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the Lightflow server. Check that it is running.');
  }
  noteServerDate(res.headers.get('Date'));
  if (res.status === 401) {
    goToLogin();
    throw new ApiError(401, 'UNAUTHENTICATED', 'Your session has ended: sign in again.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error;
    const message = (err && err.message) || `${res.status} ${res.statusText || 'error'}`.trim();
    throw new ApiError(res.status, (err && err.code) || `HTTP_${res.status}`, message);
  }
  return data;
}

export const isAbort = (e) => e && e.name === 'AbortError';

const NAMED_EVENTS = ['run', 'run_started', 'run_ended', 'run_stopping', 'dag_started', 'dag_ended',
  'task_queued', 'task_started', 'task_ended', 'task_output'];

/**
 * Follow a text/event-stream. onMessage(data, eventId) gets each message's parsed JSON.
 * onState('live' | 'reconnecting' | 'ended') tells the connection's state. The browser
 * reconnects by itself after a dropped connection (sending Last-Event-ID); when the server
 * refused the stream, we check the session (a 401 goes to sign-in) and reconnect, resuming
 * with ?after=<last event id> when `resume` is set. onReconnect() runs each time the stream
 * opens again (updates may have been missed meanwhile). The server's `end` event (a run's
 * stream after its final event) closes the stream for good; its `error` event (data
 * {"error": {...}}) goes to onServerError(message) and the stream is retried later.
 */
export function openStream(path, { onMessage, onState, resume = false, onReconnect, onEnd, onServerError } = {}) {
  let es = null;
  let closed = false;
  let lastId = '';
  let timer = null;
  let failures = 0;
  let opens = 0;

  const retryLater = () => {
    failures += 1;
    const delay = Math.min(15000, 1000 * 2 ** Math.min(failures, 4));
    timer = setTimeout(async () => {
      try {
        await api('/runs?limit=1'); // a 401 here goes to the sign-in page
      } catch (err) {
        if (err.status === 401) return;
      }
      connect();
    }, delay);
  };

  const connect = () => {
    if (closed) return;
    let url = API + path;
    if (resume && lastId) url += (url.includes('?') ? '&' : '?') + 'after=' + encodeURIComponent(lastId);
    es = new EventSource(url);
    es.onopen = () => {
      failures = 0;
      opens += 1;
      if (onState) onState('live');
      if (opens > 1 && onReconnect) onReconnect();
    };
    const handle = (e) => {
      if (closed) return;
      if (e.lastEventId) lastId = e.lastEventId;
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      onMessage(data, e.lastEventId);
    };
    es.onmessage = handle;
    // Also accept messages sent as named events ("event: task_started"), should a server name them.
    for (const name of NAMED_EVENTS) es.addEventListener(name, handle);
    es.addEventListener('end', () => {
      if (closed) return;
      closed = true;
      es.close();
      if (onState) onState('ended');
      if (onEnd) onEnd();
    });
    es.onerror = (e) => {
      if (closed) return;
      if (e && typeof e.data === 'string') {
        // The server's own `error` event: its message, then it closes the stream.
        let message = 'The live stream failed.';
        try {
          const body = JSON.parse(e.data);
          if (body && body.error && body.error.message) message = body.error.message;
        } catch { /* not JSON */ }
        es.close();
        if (onServerError) onServerError(message);
        if (onState) onState('reconnecting');
        retryLater();
        return;
      }
      if (onState) onState('reconnecting');
      if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      es.close();
      retryLater();
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (es) es.close();
    },
  };
}
