// The sign-in page: trade the stack's token for a session cookie, then go back.

const form = document.getElementById('login-form');
const input = document.getElementById('token');
const button = document.getElementById('login-submit');
const errorBox = document.getElementById('login-error');

/** Where to go after signing in: a path on this site only. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/login')) return '/';
  return next;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  input.classList.add('invalid');
}

function clearError() {
  errorBox.textContent = '';
  errorBox.hidden = true;
  input.classList.remove('invalid');
}

input.addEventListener('input', clearError);

form.addEventListener('submit', (e) => {
  e.preventDefault();
  signIn();
});

// `lfctl up` prints a link with the token after '#' (a browser never sends that part): sign
// in with it at once, and take it out of the address bar and the history.
const linked = new URLSearchParams(location.hash.slice(1)).get('token');
if (linked) {
  history.replaceState(null, '', location.pathname + location.search);
  input.value = linked;
  signIn();
}

async function signIn() {
  const token = input.value.trim();
  if (!token) {
    showError('Enter the access token.');
    input.focus();
    return;
  }
  clearError();
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    const res = await fetch('/api/v1/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ token }),
    });
    if (res.ok) {
      location.replace(nextPath());
      return;
    }
    let message = `Sign-in failed (${res.status}).`;
    try {
      const data = await res.json();
      if (data && data.error && data.error.message) message = data.error.message;
    } catch { /* not JSON */ }
    showError(message);
    input.select();
  } catch {
    showError('Cannot reach the Lightflow server. Check that it is running.');
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}
