package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

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
	NoWebAuthnHere    = "Security keys are not served by this function."
	NoWebAuthnByIP    = "Security keys need a host name: call the API by its name (such as localhost), not by an IP address."
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
// which the WebAuthn ceremonies need.
func WithRP(ctx context.Context, rp RP) context.Context { return context.WithValue(ctx, rpKey{}, rp) }

func rpFrom(ctx context.Context) (RP, bool) {
	rp, ok := ctx.Value(rpKey{}).(RP)
	return rp, ok && rp.ID != ""
}

// WebAuthnCredential is a registered security key or passkey.
type WebAuthnCredential struct {
	// ID is the credential id in unpadded base64url.
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	AddedAt time.Time `json:"added_at"`
	// Credential is the verified credential (public key, sign counter,
	// flags) as the Ceremonies keep it: opaque to this package.
	Credential json.RawMessage `json:"credential"`
}

// ErrInvalidResponse is the Ceremonies' answer to a browser's response
// that is malformed or fails verification (a wrong origin, relying party,
// challenge or signature, or a signature counter gone back).
var ErrInvalidResponse = errors.New("mfa: invalid WebAuthn response")

// Ceremonies perform WebAuthn's registration and login ceremonies for a
// relying party (package securitykey, with go-webauthn). Only the auth
// function has them: the admin view's script calls its routes, so the
// audit query function's binary stays without the library. Options are
// JSON ({"publicKey": ...}, binary members in base64url); session is the
// ceremony's state to keep until its answer.
type Ceremonies interface {
	// BeginRegistration returns the options of navigator.credentials.create
	// for a new credential of user, who has creds already.
	BeginRegistration(rp RP, user auth.User, creds []WebAuthnCredential) (options json.RawMessage, session string, err error)
	// FinishRegistration verifies the browser's answer to a registration
	// and returns the new credential's id (base64url) and state.
	FinishRegistration(rp RP, user auth.User, creds []WebAuthnCredential, session string, response []byte) (id string, credential json.RawMessage, err error)
	// BeginLogin returns the options of navigator.credentials.get for user's creds.
	BeginLogin(rp RP, user auth.User, creds []WebAuthnCredential) (options json.RawMessage, session string, err error)
	// FinishLogin verifies an assertion and returns the id of the
	// credential used and its new state (its signature counter).
	FinishLogin(rp RP, user auth.User, creds []WebAuthnCredential, session string, response []byte) (id string, credential json.RawMessage, err error)
}

// ceremonies returns the Ceremonies and the request's relying party, or
// the error of a service or a request without them.
func (s Service) ceremonies(ctx context.Context, op apperr.Op) (Ceremonies, RP, error) {
	if s.SecurityKeys == nil {
		return nil, RP{}, apperr.E(op, apperr.NotFound, NoWebAuthnHere)
	}
	rp, ok := rpFrom(ctx)
	if !ok {
		return nil, RP{}, apperr.E(op, "no WebAuthn relying party")
	}
	if _, err := netip.ParseAddr(rp.ID); err == nil {
		return nil, RP{}, apperr.E(op, apperr.Invalid, NoWebAuthnByIP)
	}
	return s.SecurityKeys, rp, nil
}

// BeginWebAuthnRegistration returns the options of navigator.credentials
// .create for a new security key or passkey of user, keeping the ceremony
// 10 minutes; the context carries the relying party (WithRP).
func (s Service) BeginWebAuthnRegistration(ctx context.Context, user auth.User) (json.RawMessage, error) {
	keys, rp, err := s.ceremonies(ctx, "mfa.BeginWebAuthnRegistration")
	if err != nil {
		return nil, err
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return nil, err
	}
	options, session, err := keys.BeginRegistration(rp, user, state.WebAuthn)
	if err != nil {
		return nil, err
	}
	if err := s.Store.PutPendingWebAuthn(ctx, user.Username, session, s.now().Add(PendingTOTPLifetime)); err != nil {
		return nil, err
	}
	return options, nil
}

// FinishWebAuthnRegistration verifies the browser's answer to the pending
// registration (single use) and stores the credential under name; it
// returns new recovery codes (shown once) when the user had none.
func (s Service) FinishWebAuthnRegistration(ctx context.Context, user auth.User, name string, response []byte) ([]string, error) {
	const op = apperr.Op("mfa.FinishWebAuthnRegistration")
	keys, rp, err := s.ceremonies(ctx, op)
	if err != nil {
		return nil, err
	}
	session, err := s.Store.TakePendingWebAuthn(ctx, user.Username, s.now())
	if apperr.Is(apperr.NotFound, err) {
		return nil, apperr.E(op, apperr.Invalid, NoPendingWebAuthn)
	}
	if err != nil {
		return nil, err
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return nil, err
	}
	id, cred, err := keys.FinishRegistration(rp, user, state.WebAuthn, session, response)
	if errors.Is(err, ErrInvalidResponse) {
		return nil, apperr.E(op, apperr.Unprocessable, "credential", InvalidCredential)
	}
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Security key"
	}
	if len([]rune(name)) > MaxKeyNameLength {
		name = string([]rune(name)[:MaxKeyNameLength])
	}
	var codes, hashes []string
	if len(state.RecoveryHashes) == 0 {
		if codes, hashes, err = newRecoveryCodes(); err != nil {
			return nil, err
		}
	}
	c := WebAuthnCredential{ID: id, Name: name, AddedAt: s.now().UTC(), Credential: cred}
	err = s.Store.AddWebAuthnCredential(ctx, user, c, hashes, s.event(EventEnrolled, FactorWebAuthn, auth.MethodSession))
	return codes, err
}

// RemoveWebAuthn removes one credential of the user (and the recovery
// codes when no factor is left). It needs no Ceremonies.
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

// BeginWebAuthnLogin returns the options of navigator.credentials.get for
// the second step of the login whose challenge this is, and keeps the
// ceremony with the challenge (a later call replaces it). The challenge
// stays unused: Verify takes it. An unknown or expired challenge, or a
// user without a security key, is Unauthorized, as Verify's refusals are.
func (s Service) BeginWebAuthnLogin(ctx context.Context, challenge string) (json.RawMessage, error) {
	const op = apperr.Op("mfa.BeginWebAuthnLogin")
	keys, rp, err := s.ceremonies(ctx, op)
	if err != nil {
		return nil, err
	}
	if challenge == "" {
		return nil, invalid(InvalidChallenge)
	}
	hash := auth.HashSessionID(challenge)
	c, err := s.Store.MFAChallenge(ctx, hash, s.now())
	if apperr.Is(apperr.NotFound, err) {
		return nil, invalid(InvalidChallenge)
	}
	if err != nil {
		return nil, err
	}
	state, err := s.Store.MFAState(ctx, c.Username)
	if err != nil {
		return nil, err
	}
	if len(state.WebAuthn) == 0 {
		return nil, invalid(UnknownCredential)
	}
	options, session, err := keys.BeginLogin(rp, auth.User{ID: c.UserID, Username: c.Username}, state.WebAuthn)
	if err != nil {
		return nil, err
	}
	err = s.Store.SetMFAChallengeWebAuthn(ctx, hash, session, s.now())
	if apperr.Is(apperr.NotFound, err) {
		return nil, invalid(InvalidChallenge)
	}
	return options, err
}

// checkWebAuthn verifies an assertion against the challenge's ceremony and
// records the credential's new signature counter.
func (s Service) checkWebAuthn(ctx context.Context, user auth.User, state State, c Challenge, response []byte) (bool, error) {
	if c.WebAuthnSession == "" || len(state.WebAuthn) == 0 {
		return false, nil
	}
	keys, rp, err := s.ceremonies(ctx, "mfa.checkWebAuthn")
	if err != nil {
		return false, nil // not served here: no assertion is valid
	}
	id, cred, err := keys.FinishLogin(rp, user, state.WebAuthn, c.WebAuthnSession, response)
	if errors.Is(err, ErrInvalidResponse) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, stored := range state.WebAuthn {
		if stored.ID == id {
			stored.Credential = cred
			return true, s.Store.UpdateWebAuthnCredential(ctx, user.Username, stored)
		}
	}
	return false, nil
}
