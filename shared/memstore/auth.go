package memstore

import (
	"context"
	"reflect"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// CreateUser stores a new user with the next id; an Exists error when the
// username is taken.
func (s *Store) CreateUser(_ context.Context, u auth.User) (auth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.users[u.Username]; taken {
		return u, apperr.E(op, apperr.Exists)
	}
	s.lastUserID++
	u.ID = s.lastUserID
	if s.users == nil {
		s.users = map[string]auth.User{}
	}
	s.users[u.Username] = u
	return u, nil
}

// UserByUsername implements auth.KeyStore.
func (s *Store) UserByUsername(_ context.Context, username string) (auth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[username]
	if !ok {
		return auth.User{}, apperr.E(op, apperr.NotFound)
	}
	return u, nil
}

// CreateAPIKey stores a new key; an Exists error when another key has its
// hash (the very same key stored again is a retried write: no error).
func (s *Store) CreateAPIKey(_ context.Context, k auth.APIKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stored, taken := s.keys[k.Hash]; taken {
		if reflect.DeepEqual(stored, k) {
			return nil
		}
		return apperr.E(op, apperr.Exists)
	}
	if s.keys == nil {
		s.keys = map[string]auth.APIKey{}
	}
	s.keys[k.Hash] = k
	return nil
}

// APIKeyByHash implements auth.KeyStore.
func (s *Store) APIKeyByHash(_ context.Context, hash string) (auth.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[hash]
	if !ok {
		return auth.APIKey{}, apperr.E(op, apperr.NotFound)
	}
	return k, nil
}

// TouchAPIKey implements auth.KeyToucher: last use is set unless it is
// at or after notBefore already.
func (s *Store) TouchAPIKey(_ context.Context, hash string, now, notBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[hash]
	if !ok || k.LastUsedAt != nil && !k.LastUsedAt.Before(notBefore) {
		return nil
	}
	k.LastUsedAt = &now
	s.keys[hash] = k
	return nil
}

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(_ context.Context, session auth.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = map[string]auth.Session{}
	}
	s.sessions[session.Hash] = session
	return nil
}

// SessionByHash implements auth.SessionStore.
func (s *Store) SessionByHash(_ context.Context, hash string) (auth.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	session, ok := s.sessions[hash]
	if !ok {
		return auth.Session{}, apperr.E(op, apperr.NotFound)
	}
	return session, nil
}

// DeleteSession implements auth.SessionStore.
func (s *Store) DeleteSession(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}

// SessionCount returns how many sessions are stored.
func (s *Store) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// LoginFailures implements auth.LoginThrottle.
func (s *Store) LoginFailures(_ context.Context, username string) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[username]
	return f.count, f.windowEnd, nil
}

// RecordLoginFailure implements auth.LoginThrottle: it counts within the
// open window, or opens a new one when the last has ended.
func (s *Store) RecordLoginFailure(_ context.Context, username string, now time.Time, window time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[string]loginFailures{}
	}
	f := s.failures[username]
	if !now.Before(f.windowEnd) {
		f = loginFailures{windowEnd: now.Add(window)}
	}
	f.count++
	s.failures[username] = f
	return nil
}

// ClearLoginFailures implements auth.LoginThrottle.
func (s *Store) ClearLoginFailures(_ context.Context, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, username)
	return nil
}
