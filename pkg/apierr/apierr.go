// Package apierr is the API's single error vocabulary: every error a client
// can see has a Code, the Code fixes the HTTP status, and Write renders the
// documented {"error":{"code","message"}} envelope.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, documented error code.
type Code string

const (
	InvalidRequest       Code = "INVALID_REQUEST"
	InvalidAPIKey        Code = "INVALID_API_KEY"
	InsufficientScope    Code = "INSUFFICIENT_SCOPE"
	NotFound             Code = "NOT_FOUND"
	DeploymentNotFound   Code = "DEPLOYMENT_NOT_FOUND"
	OperationNotFound    Code = "OPERATION_NOT_FOUND"
	MethodNotAllowed     Code = "METHOD_NOT_ALLOWED"
	DeploymentDestroyed  Code = "DEPLOYMENT_DESTROYED"
	Conflict             Code = "CONFLICT"
	PayloadTooLarge      Code = "PAYLOAD_TOO_LARGE"
	UnsupportedMediaType Code = "UNSUPPORTED_MEDIA_TYPE"
	IdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
	RateLimited          Code = "RATE_LIMITED"
	Internal             Code = "INTERNAL_ERROR"
)

// statuses maps every code to its HTTP status. A code missing here is a bug
// caught by TestEveryCodeHasStatus.
var statuses = map[Code]int{
	InvalidRequest:       http.StatusBadRequest,
	InvalidAPIKey:        http.StatusUnauthorized,
	InsufficientScope:    http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	DeploymentNotFound:   http.StatusNotFound,
	OperationNotFound:    http.StatusNotFound,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	DeploymentDestroyed:  http.StatusConflict,
	Conflict:             http.StatusConflict,
	PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	IdempotencyKeyReused: http.StatusUnprocessableEntity,
	RateLimited:          http.StatusTooManyRequests,
	Internal:             http.StatusInternalServerError,
}

// Codes lists every code, for documentation and tests.
func Codes() []Code {
	out := make([]Code, 0, len(statuses))
	for c := range statuses {
		out = append(out, c)
	}
	return out
}

// Error is an error a client is allowed to see.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Status is the HTTP status for the error's code.
func (e *Error) Status() int { return StatusOf(e.Code) }

// StatusOf returns the HTTP status of a code (500 for an unknown one).
func StatusOf(c Code) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// New returns a client-visible error.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Errorf returns a client-visible error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// The documented errors, with the seed's exact messages.
var (
	ErrInvalidAPIKey       = New(InvalidAPIKey, "Invalid API key")
	ErrDeploymentNotFound  = New(DeploymentNotFound, "Deployment not found")
	ErrOperationNotFound   = New(OperationNotFound, "Operation not found")
	ErrInvalidAppType      = New(InvalidRequest, "Invalid app_type. Must be 'airflow' or 'superset'")
	ErrDeploymentDestroyed = New(DeploymentDestroyed, "Deployment has been destroyed")
	ErrNotFound            = New(NotFound, "Resource not found")
)

// InsufficientScopeFor is the 403 for a missing scope.
func InsufficientScopeFor(scope string) *Error {
	return New(InsufficientScope, "Insufficient scope. Required: "+scope)
}

// As extracts a client-visible error; ok is false for anything else, which
// must be reported as an internal error without its text.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
