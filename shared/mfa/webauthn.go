package mfa

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// MethodWebAuthn is a security key or passkey (WebAuthn).
const MethodWebAuthn = "webauthn"

// FactorWebAuthn is a WebAuthn credential, as an Event concerns it.
const FactorWebAuthn = "webauthn"

// Messages of WebAuthn refusals.
const (
	NoPendingWebAuthn = "No registration to finish; start again."
	InvalidCredential = "The security key's answer was not valid."
	UnknownCredential = "No such security key."
)

// MaxKeyNameLength bounds a security key's name (in characters).
const MaxKeyNameLength = 64

// EnvWebAuthnRPID names the WebAuthn relying party id when it is not the
// host of the API (a custom domain's parent domain, say).
const EnvWebAuthnRPID = "WEBAUTHN_RP_ID"

// RP is the WebAuthn relying party a request speaks to: its id (a domain)
// and the origins its pages may have.
type RP struct {
	ID      string
	Origins []string
}

// RPOf is the relying party of a request: the configured id or else the
// request's host (without its port), and the request's own origin (https,
// or http when secure is false, as on the local stack) with the allowed
// origins.
func RPOf(r *http.Request, secure bool, rpID string, allowedOrigins []string) RP {
	scheme := "https"
	if !secure {
		scheme = "http"
	}
	host := r.Host
	if rpID == "" {
		rpID = host
		if h, _, err := net.SplitHostPort(host); err == nil {
			rpID = h
		}
	}
	origins := []string{scheme + "://" + host}
	for _, o := range allowedOrigins {
		origins = append(origins, strings.TrimRight(o, "/"))
	}
	return RP{ID: rpID, Origins: origins}
}

type rpKey struct{}

// WithRP returns a context that carries the relying party of the request,
// which a login's challenge and its second step need for WebAuthn.
func WithRP(ctx context.Context, rp RP) context.Context { return context.WithValue(ctx, rpKey{}, rp) }

func rpFrom(ctx context.Context) (RP, bool) {
	rp, ok := ctx.Value(rpKey{}).(RP)
	return rp, ok && rp.ID != ""
}

func newWebAuthn(rp RP) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: Issuer, RPOrigins: rp.Origins})
}

// WebAuthnCredential is a registered security key or passkey.
type WebAuthnCredential struct {
	// ID is the credential id in unpadded base64url.
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	AddedAt    time.Time           `json:"added_at"`
	Credential webauthn.Credential `json:"credential"`
}

// webAuthnUser is a user as go-webauthn sees one.
type webAuthnUser struct {
	user  auth.User
	creds []WebAuthnCredential
}

// WebAuthnID is the user handle: the user's id, which never changes.
func (u webAuthnUser) WebAuthnID() []byte { return []byte(strconv.FormatInt(u.user.ID, 10)) }

// WebAuthnName is the username.
func (u webAuthnUser) WebAuthnName() string { return u.user.Username }

// WebAuthnDisplayName is the username.
func (u webAuthnUser) WebAuthnDisplayName() string { return u.user.Username }

// WebAuthnCredentials are the registered credentials.
func (u webAuthnUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.creds))
	for i, c := range u.creds {
		out[i] = c.Credential
	}
	return out
}

// BeginWebAuthnRegistration returns the options of navigator.credentials
// .create for a new security key or passkey of user, keeping the ceremony
// 10 minutes; the context carries the relying party (WithRP).
func (s Service) BeginWebAuthnRegistration(ctx context.Context, user auth.User) (json.RawMessage, error) {
	rp, ok := rpFrom(ctx)
	if !ok {
		return nil, apperr.E(apperr.Op("mfa.BeginWebAuthnRegistration"), "no WebAuthn relying party")
	}
	wa, err := newWebAuthn(rp)
	if err != nil {
		return nil, err
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return nil, err
	}
	u := webAuthnUser{user: user, creds: state.WebAuthn}
	creation, session, err := wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred,
		}))
	if err != nil {
		return nil, err
	}
	sessionJSON, err := json.Marshal(session)
	if err != nil {
		return nil, err
	}
	if err := s.Store.PutPendingWebAuthn(ctx, user.Username, string(sessionJSON), s.now().Add(PendingTOTPLifetime)); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// FinishWebAuthnRegistration verifies the browser's answer to the pending
// registration (single use) and stores the credential under name; it
// returns new recovery codes (shown once) when the user had none.
func (s Service) FinishWebAuthnRegistration(ctx context.Context, user auth.User, name string, response []byte) ([]string, error) {
	const op = apperr.Op("mfa.FinishWebAuthnRegistration")
	rp, ok := rpFrom(ctx)
	if !ok {
		return nil, apperr.E(op, "no WebAuthn relying party")
	}
	sessionJSON, err := s.Store.TakePendingWebAuthn(ctx, user.Username, s.now())
	if apperr.Is(apperr.NotFound, err) {
		return nil, apperr.E(op, apperr.Invalid, NoPendingWebAuthn)
	}
	if err != nil {
		return nil, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(sessionJSON), &session); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, apperr.E(op, apperr.Unprocessable, "credential", InvalidCredential)
	}
	wa, err := newWebAuthn(rp)
	if err != nil {
		return nil, err
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return nil, err
	}
	cred, err := wa.CreateCredential(webAuthnUser{user: user, creds: state.WebAuthn}, session, parsed)
	if err != nil {
		return nil, apperr.E(op, apperr.Unprocessable, "credential", InvalidCredential)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Security key"
	}
	if len([]rune(name)) > MaxKeyNameLength {
		name = string([]rune(name)[:MaxKeyNameLength])
	}
	c := WebAuthnCredential{ID: base64.RawURLEncoding.EncodeToString(cred.ID), Name: name, AddedAt: s.now().UTC(), Credential: *cred}
	var codes, hashes []string
	if len(state.RecoveryHashes) == 0 {
		if codes, hashes, err = newRecoveryCodes(); err != nil {
			return nil, err
		}
	}
	err = s.Store.AddWebAuthnCredential(ctx, user, c, hashes, s.event(EventEnrolled, FactorWebAuthn, auth.MethodSession))
	return codes, err
}

// RemoveWebAuthn removes one credential of the user (and the recovery
// codes when no factor is left).
func (s Service) RemoveWebAuthn(ctx context.Context, username, id string) error {
	state, err := s.Store.MFAState(ctx, username)
	if err != nil {
		return err
	}
	found := false
	for _, c := range state.WebAuthn {
		found = found || c.ID == id
	}
	if !found {
		return apperr.E(apperr.Op("mfa.RemoveWebAuthn"), apperr.Invalid, UnknownCredential)
	}
	lastFactor := state.TOTPSecret == "" && len(state.WebAuthn) == 1
	err = s.Store.RemoveWebAuthnCredential(ctx, username, id, lastFactor, s.event(EventRemoved, FactorWebAuthn, auth.MethodSession))
	if apperr.Is(apperr.NotFound, err) {
		return apperr.E(apperr.Op("mfa.RemoveWebAuthn"), apperr.Invalid, UnknownCredential)
	}
	return err
}

// beginWebAuthnLogin returns the options of navigator.credentials.get and
// the ceremony's state to keep with the challenge; nothing when the user
// has no credential or the request's relying party is unknown.
func beginWebAuthnLogin(ctx context.Context, user auth.User, state State) (any, string, error) {
	rp, ok := rpFrom(ctx)
	if !ok || len(state.WebAuthn) == 0 {
		return nil, "", nil
	}
	wa, err := newWebAuthn(rp)
	if err != nil {
		return nil, "", err
	}
	assertion, session, err := wa.BeginLogin(webAuthnUser{user: user, creds: state.WebAuthn})
	if err != nil {
		return nil, "", err
	}
	sessionJSON, err := json.Marshal(session)
	return assertion, string(sessionJSON), err
}

// checkWebAuthn verifies an assertion against the challenge's ceremony and
// records the credential's new signature counter.
func (s Service) checkWebAuthn(ctx context.Context, user auth.User, state State, c Challenge, response []byte) (bool, error) {
	rp, ok := rpFrom(ctx)
	if !ok || c.WebAuthnSession == "" || len(state.WebAuthn) == 0 {
		return false, nil
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(c.WebAuthnSession), &session); err != nil {
		return false, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return false, nil
	}
	wa, err := newWebAuthn(rp)
	if err != nil {
		return false, err
	}
	cred, err := wa.ValidateLogin(webAuthnUser{user: user, creds: state.WebAuthn}, session, parsed)
	if err != nil || cred.Authenticator.CloneWarning {
		return false, nil
	}
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	for _, stored := range state.WebAuthn {
		if stored.ID == id {
			stored.Credential = *cred
			return true, s.Store.UpdateWebAuthnCredential(ctx, user.Username, stored)
		}
	}
	return false, nil
}
