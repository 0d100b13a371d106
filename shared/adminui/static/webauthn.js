// The admin view's one script, allowed by the page's CSP nonce on the two
// pages that use a security key. It calls the auth function's WebAuthn
// routes (same origin) and hands their options to the browser:
// - data-webauthn="register" (the two-factor page): POST /auth/mfa/webauthn
//   for the options, navigator.credentials.create, then
//   POST /auth/mfa/webauthn/finish with the key's name; new recovery codes
//   are shown in the page, once.
// - data-webauthn="login" (a login's second step): POST
//   /auth/login/mfa/webauthn with the login's challenge for the options,
//   navigator.credentials.get, then POST /auth/login/mfa, which opens the
//   session; the page then goes on to the login's next address.
'use strict';
(() => {
  const box = document.getElementById('webauthn');
  if (!box || !window.PublicKeyCredential) return;
  const button = document.getElementById('webauthn-button');
  const status = document.getElementById('webauthn-status');
  const api = '/api/v1/auth';

  const decode = (s) => {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const encode = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const ids = (list) => (list || []).map((c) => ({ ...c, id: decode(c.id) }));

  // post sends body as JSON and returns the answer's status and JSON.
  async function post(path, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (box.dataset.csrf) headers['X-CSRFToken'] = box.dataset.csrf;
    const r = await fetch(api + path, {
      method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin',
    });
    let json = {};
    try { json = await r.json(); } catch (e) { /* an empty or non-JSON answer */ }
    return { ok: r.ok, status: r.status, json };
  }

  // refused is an answer of the API that ends the attempt.
  class Refused extends Error {}
  const message = (a) => a.json.message || a.json.detail || `Refused (${a.status}).`;

  async function register() {
    const begin = await post('/mfa/webauthn', {});
    if (!begin.ok) throw new Refused(message(begin));
    const options = begin.json.publicKey;
    options.challenge = decode(options.challenge);
    options.user.id = decode(options.user.id);
    options.excludeCredentials = ids(options.excludeCredentials);
    const credential = await navigator.credentials.create({ publicKey: options });
    const r = credential.response;
    const finish = await post('/mfa/webauthn/finish', {
      name: document.getElementById('id_key_name').value,
      credential: {
        id: credential.id, rawId: encode(credential.rawId), type: credential.type,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: encode(r.clientDataJSON), attestationObject: encode(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : [],
        },
      },
    });
    if (!finish.ok) throw new Refused(message(finish));
    const codes = finish.json.recovery_codes || [];
    if (codes.length === 0) {
      window.location.assign('/admin/mfa/');
      return;
    }
    // The codes are shown this once: in the page, not in an address.
    const section = document.getElementById('recovery-codes');
    const list = section.querySelector('ul');
    list.replaceChildren(...codes.map((c) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = c;
      li.append(code);
      return li;
    }));
    section.hidden = false;
    status.textContent = 'The security key is registered: logins may use it. Reload the page to see it listed.';
  }

  async function login() {
    const challenge = box.dataset.challenge;
    const begin = await post('/login/mfa/webauthn', { challenge });
    if (!begin.ok) throw new Refused(message(begin));
    const options = begin.json.publicKey;
    options.challenge = decode(options.challenge);
    options.allowCredentials = ids(options.allowCredentials);
    const credential = await navigator.credentials.get({ publicKey: options });
    const r = credential.response;
    const finish = await post('/login/mfa', {
      challenge,
      webauthn: {
        id: credential.id, rawId: encode(credential.rawId), type: credential.type,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: encode(r.clientDataJSON), authenticatorData: encode(r.authenticatorData),
          signature: encode(r.signature), userHandle: r.userHandle ? encode(r.userHandle) : null,
        },
      },
    });
    if (!finish.ok) throw new Refused(message(finish));
    const next = box.dataset.next;
    window.location.assign(next && next.startsWith('/admin/') ? next : '/admin/');
  }

  button.disabled = false;
  button.addEventListener('click', () => {
    button.disabled = true;
    status.textContent = 'Waiting for the security key…';
    (box.dataset.webauthn === 'register' ? register() : login()).catch((err) => {
      if (err instanceof Refused) {
        status.textContent = err.message;
        const restart = document.getElementById('webauthn-restart');
        if (restart) restart.hidden = false; // a login's challenge is used up
        else button.disabled = false;
        return;
      }
      button.disabled = false;
      status.textContent = `The security key did not answer (${err.name}).`;
    });
  });
})();
