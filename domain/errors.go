// Package domain holds the pure model of the product: one package per
// aggregate below this one, and here the error vocabulary they share.
//
// Domain code does no I/O and never reads the wall clock: decisions take
// everything they need, the current time included, as arguments.
package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the edges (HTTP status, GraphQL code, SMTP
// reply). Each edge translates kinds once, in a table.
type Kind string

const (
	KindInvalid      Kind = "invalid"      // the request is malformed or breaks a rule
	KindNotFound     Kind = "not_found"    // the thing asked for does not exist
	KindConflict     Kind = "conflict"     // the state does not allow it (already closed, name taken)
	KindForbidden    Kind = "forbidden"    // the caller may not do this
	KindUnauthorized Kind = "unauthorized" // the caller is not signed in
	KindLimit        Kind = "limit"        // a system limit was reached
	KindUnavailable  Kind = "unavailable"  // try again later
	KindInternal     Kind = "internal"     // a bug or an infrastructure failure
)

// Error is a domain error with a stable machine-readable code and a message
// a person can act on.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string // the input field at fault, when there is one
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is makes errors.Is match domain errors by code, so that a wrapped copy
// with another message still matches its sentinel.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && t.Kind == e.Kind
}

func newError(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

func Invalid(code, msg string) *Error     { return newError(KindInvalid, code, msg) }
func NotFound(code, msg string) *Error    { return newError(KindNotFound, code, msg) }
func Conflict(code, msg string) *Error    { return newError(KindConflict, code, msg) }
func Forbidden(code, msg string) *Error   { return newError(KindForbidden, code, msg) }
func Limit(code, msg string) *Error       { return newError(KindLimit, code, msg) }
func Unavailable(code, msg string) *Error { return newError(KindUnavailable, code, msg) }

// FieldError reports a bad value for one input field.
func FieldError(field, msg string) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_field", Message: msg, Field: field}
}

// FieldErrorf is FieldError with formatting.
func FieldErrorf(field, format string, args ...any) *Error {
	return FieldError(field, fmt.Sprintf(format, args...))
}

// KindOf returns the kind of err: the kind of the first domain error in its
// chain, KindInternal for anything else, and "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	var k interface{ Kind() Kind }
	if errors.As(err, &k) {
		return k.Kind()
	}
	return KindInternal
}

// ErrConcurrentUpdate is returned when a command kept losing races with
// other writers of the same entity and gave up.
var ErrConcurrentUpdate = Unavailable("concurrent_update", "the entity was changed concurrently; try again")
