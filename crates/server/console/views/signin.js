// The sign-in page: an API key pair (SecretId/SecretKey). The secret goes to the server once, in the
// sign-in request's body; the form is cleared right after, whatever the answer, so it stays nowhere.

import { signIn } from '../api.js';
import { h, mount } from '../dom.js';
import { errorBox, notice } from '../widgets/messages.js';

export function renderSignIn(root, { notice: text, onSignedIn }) {
  const status = h('div.signin-status', text ? notice(text) : null);
  const secretId = h('input', { name: 'SecretId', id: 'secret-id', autocomplete: 'username', required: true, spellcheck: 'false' });
  // Not "current-password": a password manager would offer to save the SecretKey, an API key that
  // must stay where `teleoscope keys create` printed it.
  const secretKey = h('input', { name: 'SecretKey', id: 'secret-key', type: 'password', autocomplete: 'off', required: true });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form.signin', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const id = secretId.value.trim();
      const key = secretKey.value;
      secretKey.value = '';
      try {
        await signIn(id, key);
        await onSignedIn();
      } catch (e) {
        mount(status, errorBox(e));
        secretKey.focus();
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h1', 'Teleoscope'),
  h('p.muted', 'Sign in with an API key pair of this server: ', h('code', 'teleoscope keys create'), ' prints one, ',
    h('code', 'teleoscope demo'), ' prints the demo keys.'),
  h('label', { for: 'secret-id' }, 'SecretId'), secretId,
  h('label', { for: 'secret-key' }, 'SecretKey'), secretKey,
  button,
  status,
  h('p.fine', 'The key is checked once and not kept by the browser; the console then uses a session cookie that ends when you sign out, or when it expires (after 8 hours unless the server is set otherwise).'));
  mount(root, h('div.signin-page', form));
  secretId.focus();
}
