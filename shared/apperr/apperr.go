// Package apperr is the application's one error vocabulary, in the shape of
// upspin's errors.E(op, kind, err): an error carries the operation that
// failed, a kind from a short closed list, and its cause. Stores and
// services return kinds; the HTTP layer maps each kind to a status code and
// a body in exactly one place (package httpapi).
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Op names the operation that failed, e.g. "dynamo.Resources.Get".
type Op string

// Kind says what went wrong, independently of any transport.
type Kind string

// The kinds of application error.
const (
	// NotFound: the named thing does not exist.
	NotFound Kind = "not_found"
	// Exists: a uniqueness rule was violated; Existing may hold what is there.
	Exists Kind = "exists"
	// Stale: the thing changed since it was read (a conditional write lost).
	Stale Kind = "stale"
	// Invalid: the request is well-formed but breaks a business rule.
	Invalid Kind = "invalid"
	// Unprocessable: a field's value breaks a rule; Field names it.
	Unprocessable Kind = "unprocessable"
	// Unauthorized: the caller is not authenticated.
	Unauthorized Kind = "unauthorized"
	// Forbidden: the caller may not do this.
	Forbidden Kind = "forbidden"
	// CSRF: a session request failed the CSRF check; Message says why.
	CSRF Kind = "csrf"
	// TooLarge: the request is larger than allowed.
	TooLarge Kind = "too_large"
	// Throttled: too many attempts; RetryAfter says when to try again.
	Throttled Kind = "throttled"
	// Busy: the thing kept changing under the request; the caller may retry.
	Busy Kind = "busy"
)

// Error is an application error.
type Error struct {
	// Op is the operation that failed ("" when not recorded).
	Op Op
	// Kind is what went wrong; "" takes the kind of Err.
	Kind Kind
	// Err is the cause, if any.
	Err error
	// Message is for the caller (the API answers it); never a secret.
	Message string
	// ID is the resource id that was asked for, or 0.
	ID int64
	// Existing is the thing that already exists, for Exists errors.
	Existing any
	// Field is the body field an Unprocessable error concerns.
	Field string
	// RetryAfter is when a Throttled caller may try again.
	RetryAfter time.Duration
}

// E builds an *Error from its arguments, by type: an Op, a Kind, an error
// (the cause), a string (the message), an int64 (the id). With an *Error as
// cause and no Kind given, the cause's kind is the error's kind.
func E(args ...any) error {
	e := &Error{}
	for _, arg := range args {
		switch a := arg.(type) {
		case Op:
			e.Op = a
		case Kind:
			e.Kind = a
		case error:
			e.Err = a
		case string:
			e.Message = a
		case int64:
			e.ID = a
		default:
			panic(fmt.Sprintf("apperr.E: argument of type %T", arg))
		}
	}
	if e.Kind == "" {
		e.Kind = KindOf(e.Err)
	}
	return e
}

// New returns an Error of the given kind about resource id, with a message
// for the caller.
func New(kind Kind, id int64, message string) *Error {
	return &Error{Kind: kind, Message: message, ID: id}
}

// InvalidField returns an Unprocessable error about one body field.
func InvalidField(field, message string) *Error {
	return &Error{Kind: Unprocessable, Field: field, Message: message}
}

// Error implements the error interface: op, kind, message and cause, each
// when present.
func (e *Error) Error() string {
	var parts []string
	if e.Op != "" {
		parts = append(parts, string(e.Op))
	}
	if e.Kind != "" && e.Err == nil {
		parts = append(parts, string(e.Kind))
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	if e.ID != 0 {
		parts = append(parts, fmt.Sprintf("id %d", e.ID))
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	return strings.Join(parts, ": ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: that of the outermost *Error in its chain
// that has one, else "".
func KindOf(err error) Kind {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Kind != "" {
			return e.Kind
		}
		err = e.Err
	}
	return ""
}

// Is reports whether err is of the given kind.
func Is(kind Kind, err error) bool { return err != nil && KindOf(err) == kind }

// MessageOf returns the first message in err's chain, or "".
func MessageOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Message != "" {
			return e.Message
		}
		err = e.Err
	}
	return ""
}
