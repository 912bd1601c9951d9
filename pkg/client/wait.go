package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// WaitOptions tunes WaitOperation. Zero values take the defaults.
type WaitOptions struct {
	// Initial is the first polling interval (default 500 ms); it grows by
	// half each poll up to Max (default 5 s), with ±10 % jitter.
	Initial, Max time.Duration
	// OnUpdate, if set, is called with every operation read, the first one
	// included, so callers can show progress.
	OnUpdate func(Operation)
	// MaxErrors is how many temporary errors in a row (network, 429, 5xx)
	// are tolerated before giving up (default 5). A 429's Retry-After is honoured.
	MaxErrors int
}

// OperationFailedError ends a wait whose operation failed.
type OperationFailedError struct{ Operation Operation }

func (e *OperationFailedError) Error() string {
	msg := "operation " + e.Operation.ID + " failed"
	if oe := e.Operation.Error; oe != nil {
		msg += fmt.Sprintf(": %s: %s", oe.Code, oe.Message)
	}
	return msg
}

// WaitOperation polls an operation until it is done, with exponential backoff,
// and returns it. A failed operation is returned along with an
// *OperationFailedError; ctx's cancellation or deadline ends the wait with
// ctx's error and the last operation read.
func (c *Client) WaitOperation(ctx context.Context, id string, o WaitOptions) (Operation, error) {
	interval := o.Initial
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	maxInterval := o.Max
	if maxInterval <= 0 {
		maxInterval = 5 * time.Second
	}
	maxErrors := o.MaxErrors
	if maxErrors <= 0 {
		maxErrors = 5
	}
	var last Operation
	errs := 0
	for {
		op, err := c.GetOperation(ctx, id)
		wait := interval
		switch {
		case err == nil:
			errs = 0
			last = op
			if o.OnUpdate != nil {
				o.OnUpdate(op)
			}
			if op.Status == OpFailed {
				return op, &OperationFailedError{Operation: op}
			}
			if op.Done() {
				return op, nil
			}
		case ctx.Err() != nil:
			return last, ctx.Err()
		case temporary(err):
			errs++
			if errs >= maxErrors {
				return last, fmt.Errorf("waiting for operation %s: %w", id, err)
			}
			var ae *Error
			if errors.As(err, &ae) && ae.RetryAfter > wait {
				wait = ae.RetryAfter
			}
		default:
			return last, err
		}
		t := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return last, ctx.Err()
		case <-t.C:
		}
		interval = min(interval*3/2, maxInterval)
	}
}

func temporary(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}
