package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
)

// MFA keeps second factors in memory (mfa.Store), as *dynamo.Auth keeps
// them in the auth table. Events lists every enrolment change in order.
type MFA struct {
	mu         sync.Mutex
	states     map[string]mfa.State
	pending    map[string]pendingItem // TOTP keys not yet confirmed
	challenges map[string]mfa.Challenge
	webauthn   map[string]pendingItem // WebAuthn registrations not yet finished
	Events     []mfa.Event
}

// pendingItem is a value kept until it expires (the auth table's
// mfapending# items).
type pendingItem struct {
	value   string
	expires time.Time
}

func (m *MFA) init() {
	if m.states == nil {
		m.states, m.pending, m.challenges = map[string]mfa.State{}, map[string]pendingItem{}, map[string]mfa.Challenge{}
		m.webauthn = map[string]pendingItem{}
	}
}

// MFAState implements mfa.Store.
func (m *MFA) MFAState(_ context.Context, username string) (mfa.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	s.RecoveryHashes = slices.Clone(s.RecoveryHashes)
	s.WebAuthn = slices.Clone(s.WebAuthn)
	return s, nil
}

// PutPendingTOTP implements mfa.Store.
func (m *MFA) PutPendingTOTP(_ context.Context, username, secret string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.pending[username] = pendingItem{value: secret, expires: expires}
	return nil
}

// PendingTOTP implements mfa.Store.
func (m *MFA) PendingTOTP(_ context.Context, username string, now time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	p, ok := m.pending[username]
	if !ok || !now.Before(p.expires) {
		return "", apperr.E(op, apperr.NotFound)
	}
	return p.value, nil
}

// EnrolTOTP implements mfa.Store.
func (m *MFA) EnrolTOTP(_ context.Context, user auth.User, secret string, lastStep int64, recoveryHashes []string, ev mfa.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[user.Username]
	if s.TOTPSecret != "" {
		return apperr.E(op, apperr.Exists)
	}
	s.TOTPSecret, s.TOTPLastStep = secret, lastStep
	if recoveryHashes != nil {
		s.RecoveryHashes = slices.Clone(recoveryHashes)
	}
	m.states[user.Username] = s
	delete(m.pending, user.Username)
	m.Events = append(m.Events, ev)
	return nil
}

// RemoveTOTP implements mfa.Store.
func (m *MFA) RemoveTOTP(_ context.Context, username string, keepRecovery bool, ev mfa.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	if s.TOTPSecret == "" {
		return apperr.E(op, apperr.NotFound)
	}
	s.TOTPSecret, s.TOTPLastStep = "", 0
	if !keepRecovery {
		s.RecoveryHashes = nil
	}
	m.states[username] = s
	m.Events = append(m.Events, ev)
	return nil
}

// SetRecoveryCodes implements mfa.Store.
func (m *MFA) SetRecoveryCodes(_ context.Context, username string, hashes []string, ev mfa.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	if !s.Enabled() {
		return apperr.E(op, apperr.NotFound)
	}
	s.RecoveryHashes = slices.Clone(hashes)
	m.states[username] = s
	m.Events = append(m.Events, ev)
	return nil
}

// AcceptTOTPStep implements mfa.Store.
func (m *MFA) AcceptTOTPStep(_ context.Context, username, secret string, step int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	if s.TOTPSecret != secret || step <= s.TOTPLastStep {
		return false, nil
	}
	s.TOTPLastStep = step
	m.states[username] = s
	return true, nil
}

// UseRecoveryCode implements mfa.Store.
func (m *MFA) UseRecoveryCode(_ context.Context, username, hash string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	i := slices.Index(s.RecoveryHashes, hash)
	if i < 0 {
		return false, nil
	}
	s.RecoveryHashes = slices.Delete(slices.Clone(s.RecoveryHashes), i, i+1)
	m.states[username] = s
	return true, nil
}

// ResetMFA implements mfa.Store.
func (m *MFA) ResetMFA(_ context.Context, username string, ev mfa.Event) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	if !s.Enabled() && len(s.RecoveryHashes) == 0 {
		return false, nil
	}
	m.states[username] = mfa.State{}
	delete(m.pending, username)
	m.Events = append(m.Events, ev)
	return true, nil
}

// CreateMFAChallenge implements mfa.Store.
func (m *MFA) CreateMFAChallenge(_ context.Context, c mfa.Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.challenges[c.Hash] = c
	return nil
}

// MFAChallenge implements mfa.Store.
func (m *MFA) MFAChallenge(_ context.Context, hash string, now time.Time) (mfa.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	c, ok := m.challenges[hash]
	if !ok || !now.Before(c.ExpiresAt) {
		return mfa.Challenge{}, apperr.E(op, apperr.NotFound)
	}
	return c, nil
}

// SetMFAChallengeWebAuthn implements mfa.Store.
func (m *MFA) SetMFAChallengeWebAuthn(_ context.Context, hash, session string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	c, ok := m.challenges[hash]
	if !ok || !now.Before(c.ExpiresAt) {
		return apperr.E(op, apperr.NotFound)
	}
	c.WebAuthnSession = session
	m.challenges[hash] = c
	return nil
}

// TakeMFAChallenge implements mfa.Store.
func (m *MFA) TakeMFAChallenge(_ context.Context, hash string, now time.Time) (mfa.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	c, ok := m.challenges[hash]
	delete(m.challenges, hash)
	if !ok || !now.Before(c.ExpiresAt) {
		return mfa.Challenge{}, apperr.E(op, apperr.NotFound)
	}
	return c, nil
}

var _ mfa.Store = (*MFA)(nil)

// PutPendingWebAuthn implements mfa.Store.
func (m *MFA) PutPendingWebAuthn(_ context.Context, username, session string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.webauthn[username] = pendingItem{value: session, expires: expires}
	return nil
}

// TakePendingWebAuthn implements mfa.Store.
func (m *MFA) TakePendingWebAuthn(_ context.Context, username string, now time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	p, ok := m.webauthn[username]
	delete(m.webauthn, username)
	if !ok || !now.Before(p.expires) {
		return "", apperr.E(op, apperr.NotFound)
	}
	return p.value, nil
}

// AddWebAuthnCredential implements mfa.Store.
func (m *MFA) AddWebAuthnCredential(_ context.Context, user auth.User, c mfa.WebAuthnCredential, recoveryHashes []string, ev mfa.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[user.Username]
	s.WebAuthn = append(slices.Clone(s.WebAuthn), c)
	if recoveryHashes != nil {
		s.RecoveryHashes = slices.Clone(recoveryHashes)
	}
	m.states[user.Username] = s
	m.Events = append(m.Events, ev)
	return nil
}

// UpdateWebAuthnCredential implements mfa.Store.
func (m *MFA) UpdateWebAuthnCredential(_ context.Context, username string, c mfa.WebAuthnCredential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	s.WebAuthn = slices.Clone(s.WebAuthn)
	for i := range s.WebAuthn {
		if s.WebAuthn[i].ID == c.ID {
			s.WebAuthn[i] = c
		}
	}
	m.states[username] = s
	return nil
}

// RemoveWebAuthnCredential implements mfa.Store.
func (m *MFA) RemoveWebAuthnCredential(_ context.Context, username, id string, removeRecovery bool, ev mfa.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	s := m.states[username]
	i := slices.IndexFunc(s.WebAuthn, func(c mfa.WebAuthnCredential) bool { return c.ID == id })
	if i < 0 {
		return apperr.E(op, apperr.NotFound)
	}
	s.WebAuthn = slices.Delete(slices.Clone(s.WebAuthn), i, i+1)
	if removeRecovery {
		s.RecoveryHashes = nil
	}
	m.states[username] = s
	m.Events = append(m.Events, ev)
	return nil
}
