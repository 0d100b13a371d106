// The admin view's one script: it hands a form's WebAuthn options
// (data-options, from the server) to the browser's authenticator, puts the
// answer in the form's hidden field and posts the form. It runs only on the
// pages that carry such a form, allowed by the page's CSP nonce.
'use strict';
(() => {
  const form = document.getElementById('webauthn-form');
  if (!form) return;
  const button = document.getElementById('webauthn-button');
  const field = form.querySelector('input[name="webauthn"], input[name="credential"]');
  const status = document.getElementById('webauthn-status');

  const decode = (s) => {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const encode = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const ids = (list) => (list || []).map((c) => ({ ...c, id: decode(c.id) }));

  async function run() {
    const options = JSON.parse(form.dataset.options).publicKey;
    options.challenge = decode(options.challenge);
    let credential;
    if (form.dataset.webauthn === 'register') {
      options.user.id = decode(options.user.id);
      options.excludeCredentials = ids(options.excludeCredentials);
      credential = await navigator.credentials.create({ publicKey: options });
      const r = credential.response;
      field.value = JSON.stringify({
        id: credential.id, rawId: encode(credential.rawId), type: credential.type,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: encode(r.clientDataJSON), attestationObject: encode(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : [],
        },
      });
    } else {
      options.allowCredentials = ids(options.allowCredentials);
      credential = await navigator.credentials.get({ publicKey: options });
      const r = credential.response;
      field.value = JSON.stringify({
        id: credential.id, rawId: encode(credential.rawId), type: credential.type,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: encode(r.clientDataJSON), authenticatorData: encode(r.authenticatorData),
          signature: encode(r.signature), userHandle: r.userHandle ? encode(r.userHandle) : null,
        },
      });
    }
    form.submit();
  }

  button.disabled = false;
  button.addEventListener('click', () => {
    button.disabled = true;
    status.textContent = 'Waiting for the security key…';
    run().catch((err) => {
      button.disabled = false;
      status.textContent = `The security key did not answer (${err.name}).`;
    });
  });
})();
