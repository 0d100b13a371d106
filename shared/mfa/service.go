package mfa

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// Methods of a second factor, as a login's first step lists them.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// Event types of the changes to a user's second factors, as the audit log
// records them (resource type User).
const (
	EventEnrolled = "mfa_enrolled"
	EventRemoved  = "mfa_removed"
	EventReset    = "mfa_reset"
)

// Factors an Event concerns.
const (
	FactorTOTP          = "totp"
	FactorRecoveryCodes = "recovery_codes"
	// FactorAll is every factor at once (a reset).
	FactorAll = "all"
)

// Lifetimes of the login challenge and of an enrolment not yet confirmed.
const (
	ChallengeLifetime   = 5 * time.Minute
	PendingTOTPLifetime = 10 * time.Minute
)

// Messages of refused second factors and enrolments.
const (
	InvalidChallenge = "Invalid or expired challenge; log in again."
	InvalidCode      = "Invalid code"
	AlreadyEnrolled  = "An authenticator app is already enrolled; remove it first."
	NotEnrolled      = "No second factor is enrolled."
	NoPendingTOTP    = "No enrolment to confirm; start again."
)

// State is what a user has enrolled. The TOTP secret never leaves the
// service once enrolled.
type State struct {
	// TOTPSecret is the TOTP key as stored: sealed by the SecretBox.
	TOTPSecret string
	// TOTPLastStep is the time step of the last code accepted: a code is
	// accepted only for a later step, so none is accepted twice.
	TOTPLastStep   int64
	RecoveryHashes []string
	WebAuthn       []WebAuthnCredential
}

// Enabled reports whether the user has a second factor.
func (s State) Enabled() bool { return s.TOTPSecret != "" || len(s.WebAuthn) > 0 }

// Methods lists what the user may present at login.
func (s State) Methods() []string {
	var m []string
	if s.TOTPSecret != "" {
		m = append(m, MethodTOTP)
	}
	if len(s.WebAuthn) > 0 {
		m = append(m, MethodWebAuthn)
	}
	if s.Enabled() && len(s.RecoveryHashes) > 0 {
		m = append(m, MethodRecoveryCode)
	}
	return m
}

// Event is a change to a user's second factors, stored with them
// (mfa_event, mfa_event_factor, mfa_event_method, mfa_event_at, a fresh
// mfa_event_id) so that the auth table's stream tells it apart from their
// use at login.
type Event struct {
	Type   string
	Factor string
	// Method is who made it: auth.MethodSession (the user) or
	// audit.AuthCLI (an operator's reset).
	Method string
	At     time.Time
}

// Challenge is the state between a login's password and its second
// factor, stored by the hash of the challenge given to the client.
type Challenge struct {
	Hash      string
	Username  string
	UserID    int64
	ExpiresAt time.Time
	// WebAuthnSession is the state of the WebAuthn ceremony that
	// BeginWebAuthnLogin started for it, if any.
	WebAuthnSession string
}

// Store keeps the second factors in the auth table (*dynamo.Auth).
type Store interface {
	// MFAState returns what the user has enrolled (a zero State when nothing).
	MFAState(ctx context.Context, username string) (State, error)
	// PutPendingTOTP keeps a TOTP secret shown to the user (sealed) until
	// expires. The Store keeps secrets as given: the Service seals them.
	PutPendingTOTP(ctx context.Context, username, secret string, expires time.Time) error
	// PendingTOTP returns the secret not yet confirmed, or NotFound.
	PendingTOTP(ctx context.Context, username string, now time.Time) (string, error)
	// EnrolTOTP stores secret as the user's TOTP key, accepted up to
	// lastStep, with recoveryHashes when not nil, and deletes the pending
	// secret; Exists when a key is enrolled already.
	EnrolTOTP(ctx context.Context, user auth.User, secret string, lastStep int64, recoveryHashes []string, ev Event) error
	// RemoveTOTP removes the TOTP key, and the recovery codes unless
	// keepRecovery; NotFound when there is no key.
	RemoveTOTP(ctx context.Context, username string, keepRecovery bool, ev Event) error
	// PutPendingWebAuthn keeps a registration ceremony's state until expires.
	PutPendingWebAuthn(ctx context.Context, username, session string, expires time.Time) error
	// TakePendingWebAuthn deletes and returns the registration's state, or NotFound.
	TakePendingWebAuthn(ctx context.Context, username string, now time.Time) (string, error)
	// AddWebAuthnCredential stores a credential, with recoveryHashes when
	// not nil.
	AddWebAuthnCredential(ctx context.Context, user auth.User, c WebAuthnCredential, recoveryHashes []string, ev Event) error
	// UpdateWebAuthnCredential stores a credential's new state after a
	// login (its signature counter).
	UpdateWebAuthnCredential(ctx context.Context, username string, c WebAuthnCredential) error
	// RemoveWebAuthnCredential removes a credential (and the recovery codes
	// when removeRecovery); NotFound when there is none with that id.
	RemoveWebAuthnCredential(ctx context.Context, username, id string, removeRecovery bool, ev Event) error
	// SetRecoveryCodes replaces the recovery codes; NotFound when the user
	// has no second factor.
	SetRecoveryCodes(ctx context.Context, username string, hashes []string, ev Event) error
	// AcceptTOTPStep records step as used, reporting false when the key is
	// no longer secret's or a step as late was accepted already (a replay).
	AcceptTOTPStep(ctx context.Context, username, secret string, step int64) (bool, error)
	// UseRecoveryCode removes one recovery code, reporting false when it
	// was not there (used already).
	UseRecoveryCode(ctx context.Context, username, hash string) (bool, error)
	// ResetMFA removes every second factor, reporting whether there was any.
	ResetMFA(ctx context.Context, username string, ev Event) (bool, error)
	// CreateMFAChallenge stores a challenge until it expires.
	CreateMFAChallenge(ctx context.Context, c Challenge) error
	// MFAChallenge returns an unexpired challenge, or NotFound.
	MFAChallenge(ctx context.Context, hash string, now time.Time) (Challenge, error)
	// SetMFAChallengeWebAuthn keeps a login ceremony's state with an
	// unexpired challenge; NotFound when there is none.
	SetMFAChallengeWebAuthn(ctx context.Context, hash, session string, now time.Time) error
	// TakeMFAChallenge deletes and returns an unexpired challenge: only one
	// caller gets it; NotFound for everyone else.
	TakeMFAChallenge(ctx context.Context, hash string, now time.Time) (Challenge, error)
}

// Service enrols, checks and resets second factors.
type Service struct {
	Store Store
	// Logins are the password logins whose second step this is: their
	// users, sessions and throttle.
	Logins auth.Logins
	// Secrets seals the TOTP secrets the Store keeps (required).
	Secrets *SecretBox
	// SecurityKeys perform the WebAuthn ceremonies; nil where they are
	// not served (the audit query function), where security keys can be
	// listed and removed but not registered or used.
	SecurityKeys Ceremonies
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

func (s Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Service) event(typ, factor, method string) Event {
	return Event{Type: typ, Factor: factor, Method: method, At: s.now().UTC()}
}

// Challenge implements auth.SecondFactor: a new challenge when the user
// has a second factor. A user with a security key gets its options from
// BeginWebAuthnLogin, by the challenge.
func (s Service) Challenge(ctx context.Context, user auth.User) ([]string, string, error) {
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil || !state.Enabled() {
		return nil, "", err
	}
	challenge, err := auth.NewSecret()
	if err != nil {
		return nil, "", err
	}
	err = s.Store.CreateMFAChallenge(ctx, Challenge{
		Hash: auth.HashSessionID(challenge), Username: user.Username, UserID: user.ID, ExpiresAt: s.now().Add(ChallengeLifetime),
	})
	return state.Methods(), challenge, err
}

// Proof is a login's second factor: a TOTP code, a recovery code, or a
// WebAuthn assertion (the browser's PublicKeyCredential as JSON).
type Proof struct {
	Code         string
	RecoveryCode string
	WebAuthn     []byte
}

func invalid(msg string) error {
	return apperr.E(apperr.Op("mfa.Verify"), apperr.Unauthorized, msg)
}

// Verify completes a login: it takes the challenge (single use), checks
// the throttle and the proof, and opens a session with a second factor.
// A wrong proof counts as a failed login of the user. On a refusal the
// user is returned as far as the challenge named one (for the audit log
// of the failed login), with no session.
func (s Service) Verify(ctx context.Context, challenge string, proof Proof) (auth.User, string, error) {
	if challenge == "" {
		return auth.User{}, "", invalid(InvalidChallenge)
	}
	c, err := s.Store.TakeMFAChallenge(ctx, auth.HashSessionID(challenge), s.now())
	if apperr.Is(apperr.NotFound, err) {
		return auth.User{}, "", invalid(InvalidChallenge)
	}
	if err != nil {
		return auth.User{}, "", err
	}
	if err := s.Logins.CheckThrottle(ctx, c.Username); err != nil {
		return auth.User{Username: c.Username, ID: c.UserID}, "", err
	}
	user, err := s.Logins.Users.UserByUsername(ctx, c.Username)
	if apperr.Is(apperr.NotFound, err) {
		return auth.User{}, "", invalid(InvalidChallenge)
	}
	if err != nil {
		return auth.User{}, "", err
	}
	if !user.IsActive || user.ID != c.UserID {
		return auth.User{}, "", invalid(InvalidChallenge)
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return auth.User{}, "", err
	}
	ok, err := s.check(ctx, user, state, c, proof)
	if err != nil {
		return auth.User{}, "", err
	}
	if !ok {
		if err := s.Logins.RecordFailure(ctx, user.Username); err != nil {
			return auth.User{}, "", err
		}
		return user, "", invalid(InvalidCode)
	}
	if err := s.Logins.Throttle.ClearLoginFailures(ctx, user.Username); err != nil {
		return auth.User{}, "", err
	}
	id, err := s.Logins.OpenSession(ctx, user, true)
	return user, id, err
}

// check verifies a proof against the user's factors and records its use.
func (s Service) check(ctx context.Context, user auth.User, state State, c Challenge, proof Proof) (bool, error) {
	username := user.Username
	switch {
	case len(proof.WebAuthn) > 0:
		return s.checkWebAuthn(ctx, user, state, c, proof.WebAuthn)
	case proof.Code != "" && state.TOTPSecret != "":
		secret, err := s.Secrets.Open(username, state.TOTPSecret)
		if err != nil {
			return false, nil // not sealed for this user by this key: planted or moved
		}
		step, ok := matchTOTP(secret, proof.Code, s.now())
		if !ok || step <= state.TOTPLastStep {
			return false, nil
		}
		return s.Store.AcceptTOTPStep(ctx, username, state.TOTPSecret, step)
	case proof.RecoveryCode != "" && state.Enabled():
		hash := hashRecoveryCode(proof.RecoveryCode)
		found := 0
		for _, h := range state.RecoveryHashes {
			found |= subtle.ConstantTimeCompare([]byte(h), []byte(hash))
		}
		if found != 1 {
			return false, nil
		}
		return s.Store.UseRecoveryCode(ctx, username, hash)
	}
	return false, nil
}

// Status is what a user has enrolled, as the user may see it.
type Status struct {
	TOTP              bool             `json:"totp"`
	WebAuthn          []WebAuthnStatus `json:"webauthn"`
	RecoveryCodesLeft int              `json:"recovery_codes_left"`
	Methods           []string         `json:"methods"`
}

// WebAuthnStatus is a registered security key or passkey, as its user
// sees it.
type WebAuthnStatus struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	AddedAt time.Time `json:"added_at"`
}

// Status returns what the user has enrolled.
func (s Service) Status(ctx context.Context, username string) (Status, error) {
	state, err := s.Store.MFAState(ctx, username)
	st := Status{TOTP: state.TOTPSecret != "", Methods: state.Methods()}
	if state.Enabled() {
		st.RecoveryCodesLeft = len(state.RecoveryHashes)
	}
	if st.Methods == nil {
		st.Methods = []string{}
	}
	st.WebAuthn = []WebAuthnStatus{}
	for _, c := range state.WebAuthn {
		st.WebAuthn = append(st.WebAuthn, WebAuthnStatus{ID: c.ID, Name: c.Name, AddedAt: c.AddedAt})
	}
	return st, err
}

// Enrolment is a TOTP key to scan, shown once: the secret, its otpauth://
// URI, and the URI as a QR code in SVG.
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QRSVG  string `json:"qr_svg"`
}

// BeginTOTP makes a new TOTP key for the user, kept pending until
// ConfirmTOTP; an Exists error when one is enrolled already.
func (s Service) BeginTOTP(ctx context.Context, username string) (Enrolment, error) {
	state, err := s.Store.MFAState(ctx, username)
	if err != nil {
		return Enrolment{}, err
	}
	if state.TOTPSecret != "" {
		return Enrolment{}, apperr.E(apperr.Op("mfa.BeginTOTP"), apperr.Invalid, AlreadyEnrolled)
	}
	secret, err := newTOTPSecret()
	if err != nil {
		return Enrolment{}, err
	}
	uri, err := totpURI(username, secret)
	if err != nil {
		return Enrolment{}, err
	}
	svg, err := qrSVG(uri)
	if err != nil {
		return Enrolment{}, err
	}
	sealed, err := s.Secrets.Seal(username, secret)
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.Store.PutPendingTOTP(ctx, username, sealed, s.now().Add(PendingTOTPLifetime)); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: secret, URI: uri, QRSVG: svg}, nil
}

// ConfirmTOTP enrols the pending key once code shows the app has it; it
// returns the new recovery codes (shown once) when the user had none.
func (s Service) ConfirmTOTP(ctx context.Context, user auth.User, code string) ([]string, error) {
	sealed, err := s.Store.PendingTOTP(ctx, user.Username, s.now())
	if apperr.Is(apperr.NotFound, err) {
		return nil, apperr.E(apperr.Op("mfa.ConfirmTOTP"), apperr.Invalid, NoPendingTOTP)
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.Secrets.Open(user.Username, sealed)
	if err != nil {
		return nil, apperr.E(apperr.Op("mfa.ConfirmTOTP"), apperr.Invalid, NoPendingTOTP)
	}
	step, ok := matchTOTP(secret, code, s.now())
	if !ok {
		return nil, apperr.E(apperr.Op("mfa.ConfirmTOTP"), apperr.Unprocessable, "code", InvalidCode)
	}
	state, err := s.Store.MFAState(ctx, user.Username)
	if err != nil {
		return nil, err
	}
	var codes, hashes []string
	if len(state.RecoveryHashes) == 0 {
		if codes, hashes, err = newRecoveryCodes(); err != nil {
			return nil, err
		}
	}
	err = s.Store.EnrolTOTP(ctx, user, sealed, step, hashes, s.event(EventEnrolled, FactorTOTP, auth.MethodSession))
	if apperr.Is(apperr.Exists, err) {
		return nil, apperr.E(apperr.Op("mfa.ConfirmTOTP"), apperr.Invalid, AlreadyEnrolled)
	}
	return codes, err
}

// RemoveTOTP removes the user's TOTP key, and the recovery codes when no
// security key is left.
func (s Service) RemoveTOTP(ctx context.Context, username string) error {
	state, err := s.Store.MFAState(ctx, username)
	if err != nil {
		return err
	}
	err = s.Store.RemoveTOTP(ctx, username, len(state.WebAuthn) > 0, s.event(EventRemoved, FactorTOTP, auth.MethodSession))
	if apperr.Is(apperr.NotFound, err) {
		return apperr.E(apperr.Op("mfa.RemoveTOTP"), apperr.Invalid, NotEnrolled)
	}
	return err
}

// RegenerateRecoveryCodes replaces the user's recovery codes with ten new
// ones, returned once.
func (s Service) RegenerateRecoveryCodes(ctx context.Context, username string) ([]string, error) {
	state, err := s.Store.MFAState(ctx, username)
	if err != nil {
		return nil, err
	}
	if !state.Enabled() {
		return nil, apperr.E(apperr.Op("mfa.RegenerateRecoveryCodes"), apperr.Invalid, NotEnrolled)
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.Store.SetRecoveryCodes(ctx, username, hashes, s.event(EventEnrolled, FactorRecoveryCodes, auth.MethodSession))
	if apperr.Is(apperr.NotFound, err) {
		return nil, apperr.E(apperr.Op("mfa.RegenerateRecoveryCodes"), apperr.Invalid, NotEnrolled)
	}
	return codes, err
}

// Reset removes every second factor of a user who lost them (inmorctl
// user mfa reset); it reports whether there was any.
func (s Service) Reset(ctx context.Context, username string) (bool, error) {
	return s.Store.ResetMFA(ctx, username, s.event(EventReset, FactorAll, audit.AuthCLI))
}
