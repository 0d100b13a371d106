// Package securitykey performs WebAuthn's ceremonies for package mfa with
// github.com/go-webauthn/webauthn: registration and login with security
// keys and passkeys. Only the auth function links it (the library and its
// attestation formats add about 2.2 MB to a binary); mfa.Service reaches
// it through mfa.Ceremonies.
package securitykey

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
)

// Ceremonies implements mfa.Ceremonies.
type Ceremonies struct{}

var _ mfa.Ceremonies = Ceremonies{}

// user is a user as go-webauthn sees one.
type user struct {
	auth.User
	creds []webauthn.Credential
}

// WebAuthnID is the user handle: the user's id, which never changes.
func (u user) WebAuthnID() []byte { return []byte(strconv.FormatInt(u.ID, 10)) }

// WebAuthnName is the username.
func (u user) WebAuthnName() string { return u.Username }

// WebAuthnDisplayName is the username.
func (u user) WebAuthnDisplayName() string { return u.Username }

// WebAuthnCredentials are the registered credentials.
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newUser decodes the stored credentials of u.
func newUser(u auth.User, creds []mfa.WebAuthnCredential) (user, error) {
	out := user{User: u, creds: make([]webauthn.Credential, len(creds))}
	for i, c := range creds {
		if err := json.Unmarshal(c.Credential, &out.creds[i]); err != nil {
			return user{}, fmt.Errorf("securitykey: credential %s of %s: %w", c.ID, u.Username, err)
		}
	}
	return out, nil
}

func relyingParty(rp mfa.RP) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: mfa.Issuer, RPOrigins: rp.Origins})
}

// BeginRegistration implements mfa.Ceremonies: resident keys preferred,
// user verification preferred, the user's credentials excluded.
func (Ceremonies) BeginRegistration(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential) (json.RawMessage, string, error) {
	wa, wu, err := setup(rp, u, creds)
	if err != nil {
		return nil, "", err
	}
	creation, session, err := wa.BeginRegistration(wu,
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred,
		}))
	if err != nil {
		return nil, "", err
	}
	return marshalBoth(creation, session)
}

// FinishRegistration implements mfa.Ceremonies.
func (Ceremonies) FinishRegistration(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential, session string, response []byte) (string, json.RawMessage, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return "", nil, mfa.ErrInvalidResponse
	}
	wa, wu, data, err := prepare(rp, u, creds, session)
	if err != nil {
		return "", nil, err
	}
	cred, err := wa.CreateCredential(wu, data, parsed)
	if err != nil {
		return "", nil, mfa.ErrInvalidResponse
	}
	return encode(cred)
}

// BeginLogin implements mfa.Ceremonies.
func (Ceremonies) BeginLogin(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential) (json.RawMessage, string, error) {
	wa, wu, err := setup(rp, u, creds)
	if err != nil {
		return nil, "", err
	}
	assertion, session, err := wa.BeginLogin(wu)
	if err != nil {
		return nil, "", err
	}
	return marshalBoth(assertion, session)
}

// FinishLogin implements mfa.Ceremonies; a credential whose signature
// counter went back (a cloned key) is refused.
func (Ceremonies) FinishLogin(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential, session string, response []byte) (string, json.RawMessage, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil, mfa.ErrInvalidResponse
	}
	wa, wu, data, err := prepare(rp, u, creds, session)
	if err != nil {
		return "", nil, err
	}
	cred, err := wa.ValidateLogin(wu, data, parsed)
	if err != nil || cred.Authenticator.CloneWarning {
		return "", nil, mfa.ErrInvalidResponse
	}
	return encode(cred)
}

// setup returns the relying party and the user of a ceremony.
func setup(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential) (*webauthn.WebAuthn, user, error) {
	wa, err := relyingParty(rp)
	if err != nil {
		return nil, user{}, err
	}
	wu, err := newUser(u, creds)
	return wa, wu, err
}

// prepare returns the relying party, the user and the ceremony's state.
func prepare(rp mfa.RP, u auth.User, creds []mfa.WebAuthnCredential, session string) (*webauthn.WebAuthn, user, webauthn.SessionData, error) {
	var data webauthn.SessionData
	if err := json.Unmarshal([]byte(session), &data); err != nil {
		return nil, user{}, data, fmt.Errorf("securitykey: ceremony state: %w", err)
	}
	wa, wu, err := setup(rp, u, creds)
	return wa, wu, data, err
}

// marshalBoth encodes a ceremony's options and its state.
func marshalBoth(options any, session *webauthn.SessionData) (json.RawMessage, string, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, "", err
	}
	s, err := json.Marshal(session)
	return o, string(s), err
}

// encode returns a credential's id (base64url) and its state.
func encode(cred *webauthn.Credential) (string, json.RawMessage, error) {
	data, err := json.Marshal(cred)
	return base64.RawURLEncoding.EncodeToString(cred.ID), data, err
}
