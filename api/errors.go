package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with the HTTP status it maps to. A Backend returns one
// (through the constructors below) to say whose fault a failure is; the
// client returns one for every non-2xx answer.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// BadRequest is the caller's mistake (400).
func BadRequest(format string, a ...any) error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, a...)}
}

// NotFound names something that does not exist (404).
func NotFound(format string, a ...any) error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf(format, a...)}
}

// Unavailable says the node cannot serve the request now (503), for example
// because it has not joined the network.
func Unavailable(format string, a ...any) error {
	return &Error{Status: http.StatusServiceUnavailable, Message: fmt.Sprintf(format, a...)}
}

// statusOf maps an error to an HTTP status: an *Error's own, else 500.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status <= 599 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// IsStatus reports whether err is an *Error with that HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
