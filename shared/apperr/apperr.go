// Package apperr is the application's one error vocabulary: a small error type
// with a kind, a message and the resource id it concerns. The HTTP layer maps
// each kind to a status code in exactly one place (package httpapi).
package apperr

import (
	"errors"
	"fmt"
)

// Kind says what went wrong, independently of any transport.
type Kind string

// The kinds of application error.
const (
	// NotFound: the named resource does not exist.
	NotFound Kind = "not_found"
	// Conflict: a uniqueness rule was violated; Existing holds what is there.
	Conflict Kind = "conflict"
	// Invalid: the request is well-formed but breaks a business rule.
	Invalid Kind = "invalid"
	// Busy: the resource kept changing under the request; the caller may retry.
	Busy Kind = "busy"
	// Unprocessable: a field's value breaks a rule (422); Field names it.
	Unprocessable Kind = "unprocessable"
)

// Error is an application error. ID is the resource id that was asked for, or 0.
type Error struct {
	Kind    Kind
	Message string
	ID      int64
	// Existing is the resource that already exists, for Conflict errors.
	Existing any
	// Field is the body field an Unprocessable error concerns.
	Field string
}

// InvalidField returns an Unprocessable error about one body field.
func InvalidField(field, message string) *Error {
	return &Error{Kind: Unprocessable, Field: field, Message: message}
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (id %d)", e.Kind, e.Message, e.ID)
}

// New returns an Error of the given kind.
func New(kind Kind, id int64, message string) *Error {
	return &Error{Kind: kind, Message: message, ID: id}
}

// KindOf returns the Kind of err when it is (or wraps) an *Error, else "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
