// Package provision moves deployments through their statuses: it consumes
// provisioning tasks, drives a Driver, and records every step with a
// conditional write so duplicate, stale or reordered tasks change nothing.
package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/deployment"
)

// Result is a driver's answer for one step.
type Result struct {
	Done       bool
	RetryAfter time.Duration        // when not done: check again after this long
	URL        string               // for a finished create
	Failure    *deployment.OpError  // a permanent failure; Done is ignored
	Progress   *deployment.Progress // optional, shown on the operation while it runs
}

// Driver does the real work of standing up or tearing down a deployment. It
// must return quickly: long work is reported as not done with a RetryAfter,
// and the provisioner re-checks through a delayed message. A returned error
// is transient: the message is redelivered.
type Driver interface {
	Provision(ctx context.Context, d deployment.Deployment, op deployment.Operation) (Result, error)
	Destroy(ctx context.Context, d deployment.Deployment, op deployment.Operation) (Result, error)
}

// Retrier delays the redelivery of a failed message.
type Retrier interface {
	Backoff(ctx context.Context, receiptHandle string, receives int) error
}

// Provisioner handles tasks.
type Provisioner struct {
	Store      deployment.Store
	Queue      deployment.Queue
	Driver     Driver
	StaleAfter time.Duration // how overdue an operation's next check may be before the reconciler steps in
	DLQARN     string        // records from this queue have exhausted their retries
	Retry      Retrier       // optional: backs off redeliveries of failed records
	Log        *slog.Logger
	Now        func() time.Time
}

func (p *Provisioner) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Provisioner) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// HandleSQS processes a batch and reports the records to retry. It never
// fails the whole batch: one bad record must not hold back the others.
func (p *Provisioner) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	// Empty, not nil: some emulators reject {"batchItemFailures": null}.
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, rec := range ev.Records {
		var t deployment.Task
		if err := json.Unmarshal([]byte(rec.Body), &t); err != nil || t.OperationID == "" || t.OrgID == "" {
			// Retrying cannot fix a malformed body: drop it, loudly.
			p.log().ErrorContext(ctx, "dropping malformed task", "message_id", rec.MessageId, "err", err)
			continue
		}
		dead := p.DLQARN != "" && rec.EventSourceARN == p.DLQARN
		if err := p.Process(ctx, t, dead); err != nil {
			p.log().WarnContext(ctx, "task will be retried", "message_id", rec.MessageId,
				"operation_id", t.OperationID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			if p.Retry != nil && !dead && rec.ReceiptHandle != "" {
				receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
				if err := p.Retry.Backoff(ctx, rec.ReceiptHandle, max(receives, 1)); err != nil {
					// The queue's own visibility timeout still brings it back.
					p.log().WarnContext(ctx, "backoff failed", "message_id", rec.MessageId, "err", err)
				}
			}
		}
	}
	return resp, nil
}

// Process advances one operation by one step. exhausted means the task came
// from the dead-letter queue: the operation is failed rather than retried.
func (p *Provisioner) Process(ctx context.Context, t deployment.Task, exhausted bool) error {
	for range 4 {
		err := p.step(ctx, t, exhausted)
		if !errors.Is(err, deployment.ErrConflict) {
			return err
		}
		// Lost a race with another copy of this task or a delete: re-read.
	}
	return fmt.Errorf("operation %s: %w", t.OperationID, deployment.ErrConflict)
}

func (p *Provisioner) step(ctx context.Context, t deployment.Task, exhausted bool) error {
	op, err := p.Store.GetOperation(ctx, t.OrgID, t.OperationID)
	if apierr.Is(err, apierr.OperationNotFound) {
		p.log().WarnContext(ctx, "task for unknown operation dropped", "operation_id", t.OperationID)
		return nil
	}
	if err != nil {
		return err
	}
	if op.Status.Terminal() {
		return nil // a duplicate or stale task
	}
	d, err := p.Store.GetDeployment(ctx, op.OrgID, op.DeploymentID)
	if err != nil {
		return err
	}
	from, to := deployment.Provisioning, deployment.Ready
	if op.Type == deployment.OpDelete {
		from, to = deployment.Destroying, deployment.Destroyed
	}
	now := p.now()
	if d.Status != from || d.OperationID != op.ID {
		// The deployment moved on without this operation (normally the delete
		// transaction already cancelled it); make sure it is not left running.
		err := p.Store.FailOperation(ctx, op, deployment.OpError{
			Code: deployment.OpErrDeploymentChanged, Message: "The deployment changed before this operation could finish",
		}, now)
		if errors.Is(err, deployment.ErrConflict) {
			return nil
		}
		return err
	}
	if op.Status == deployment.OpPending {
		// Its first step: the work starts now. Drivers time it from
		// UpdatedAt; the first Advance, or the Finish, records it.
		op.Status, op.UpdatedAt = deployment.OpRunning, now
	}
	finish := deployment.Finish{Op: op, Deployment: d, At: now}
	if exhausted {
		code := deployment.OpErrProvisionFailed
		if op.Type == deployment.OpDelete {
			code = deployment.OpErrDestroyFailed
		}
		finish.OpStatus, finish.To = deployment.OpFailed, deployment.Failed
		finish.Error = &deployment.OpError{Code: deployment.OpErrRetriesExhausted, Message: code + ": gave up after repeated failures"}
		return p.Store.Finish(ctx, finish)
	}
	var res Result
	if op.Type == deployment.OpCreate {
		res, err = p.Driver.Provision(ctx, d, op)
	} else {
		res, err = p.Driver.Destroy(ctx, d, op)
	}
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	switch {
	case res.Failure != nil:
		finish.OpStatus, finish.To, finish.Error = deployment.OpFailed, deployment.Failed, res.Failure
	case !res.Done:
		// Record the next check first: if the send then fails, the reconciler
		// still knows when to step in.
		if err := p.Store.Advance(ctx, op, now.Add(res.RetryAfter), res.Progress); err != nil {
			return err
		}
		return p.Queue.Enqueue(ctx, t, res.RetryAfter)
	default:
		finish.OpStatus, finish.To, finish.URL = deployment.OpSucceeded, to, res.URL
	}
	return p.Store.Finish(ctx, finish)
}

// Reconcile re-enqueues in-flight operations whose next check is overdue:
// a create whose enqueue failed after its write committed, or a task lost
// with a crashed process. It returns how many it re-enqueued.
func (p *Provisioner) Reconcile(ctx context.Context) (int, error) {
	now := p.now()
	ops, err := p.Store.Stale(ctx, now.Add(-p.StaleAfter), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, op := range ops {
		if err := p.Store.Touch(ctx, op, now); err != nil {
			if errors.Is(err, deployment.ErrConflict) {
				continue // finished meanwhile
			}
			return n, err
		}
		if err := p.Queue.Enqueue(ctx, deployment.TaskFor(op), 0); err != nil {
			return n, err
		}
		p.log().InfoContext(ctx, "re-enqueued stale operation", "operation_id", op.ID)
		n++
	}
	return n, nil
}
