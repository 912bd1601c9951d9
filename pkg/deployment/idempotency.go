package deployment

import (
	"context"
	"time"
)

// Idempotency makes a create or delete safe to retry (Stripe's semantics):
// the same key with the same request within IdempotencyTTL gets the original
// result; the same key with a different request is refused; a retry while the
// original is still being processed is told to wait.
type Idempotency struct {
	Key         string // the client's Idempotency-Key
	Fingerprint string // hash of method, path and body
}

// Idempotency windows.
const (
	IdempotencyTTL   = 24 * time.Hour
	IdempotencyLease = 30 * time.Second // a claim older than this was abandoned by a dead process
)

// Claim is a held idempotency key. The write that commits the request
// completes it in the same transaction, so a request is either fully
// recorded under its key or not at all.
type Claim struct {
	OrgID string
	Key   string
	Token string // proves this request holds the claim
}

// Accepted is the result of a create or delete: what the 202 reports.
type Accepted struct {
	DeploymentID string
	OperationID  string
	Replayed     bool // the result of an earlier request with the same Idempotency-Key
}

// IdempotencyStore holds idempotency records.
type IdempotencyStore interface {
	// ClaimIdempotency claims key for a request. If an earlier request holds
	// or completed it, it returns that request's result (done) or an
	// *apierr.Error (a different request: 422; still in flight: 409).
	ClaimIdempotency(ctx context.Context, c Claim, fingerprint string, now time.Time) (prior *Accepted, err error)
	// CompleteIdempotency records the result for a claim whose request
	// committed without a transaction of its own.
	CompleteIdempotency(ctx context.Context, c Claim, a Accepted) error
	// ReleaseIdempotency drops a claim whose request failed, so a retry may run.
	ReleaseIdempotency(ctx context.Context, c Claim) error
}
