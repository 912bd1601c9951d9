package provision

import (
	"context"
	"time"

	"github.com/onvera/deployments/pkg/deployment"
)

// Simulated stands in for a provider whose work takes Delay from the moment
// the operation starts running. It never sleeps: it says how long is left.
type Simulated struct {
	Delay      time.Duration
	BaseDomain string
	Now        func() time.Time
}

var _ Driver = Simulated{}

func (s Simulated) remaining(op deployment.Operation) time.Duration {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	return op.UpdatedAt.Add(s.Delay).Sub(now)
}

// Provision is done once Delay has passed since the operation started.
func (s Simulated) Provision(_ context.Context, d deployment.Deployment, op deployment.Operation) (Result, error) {
	if left := s.remaining(op); left > 0 {
		return Result{RetryAfter: left}, nil
	}
	return Result{Done: true, URL: deployment.URLFor(d, s.BaseDomain)}, nil
}

// Destroy is done once Delay has passed since the operation started.
func (s Simulated) Destroy(_ context.Context, _ deployment.Deployment, op deployment.Operation) (Result, error) {
	if left := s.remaining(op); left > 0 {
		return Result{RetryAfter: left}, nil
	}
	return Result{Done: true}, nil
}
