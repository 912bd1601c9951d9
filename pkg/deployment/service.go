package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/onvera/deployments/pkg/apierr"
)

// Task is the queue message that asks the provisioner to work on an operation.
// It carries ids only: the provisioner always re-reads state, so a duplicated,
// stale or reordered task can do no harm.
type Task struct {
	OperationID  string `json:"operation_id"`
	DeploymentID string `json:"deployment_id"`
	OrgID        string `json:"org_id"`
	Type         OpType `json:"type"`
}

// TaskFor builds the task for op.
func TaskFor(op Operation) Task {
	return Task{OperationID: op.ID, DeploymentID: op.DeploymentID, OrgID: op.OrgID, Type: op.Type}
}

// Queue delivers tasks to the provisioner, optionally after a delay.
type Queue interface {
	Enqueue(ctx context.Context, t Task, delay time.Duration) error
}

// Service implements the API's use cases. Errors it returns are either
// *apierr.Error (client-visible) or internal.
type Service struct {
	Store Store
	Queue Queue
	Log   *slog.Logger
	Now   func() time.Time
}

// maxRaces bounds retries of optimistic writes; each retry re-reads.
const maxRaces = 8

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Create records a new deployment and its create operation, then enqueues the
// work. Once the write commits the request is accepted: if the enqueue fails
// the reconciler re-enqueues the pending operation, so nothing is lost.
func (s *Service) Create(ctx context.Context, orgID string, in CreateInput, idem *Idempotency) (Accepted, error) {
	if !in.AppType.Valid() {
		return Accepted{}, apierr.ErrInvalidAppType
	}
	name := in.Name
	if name == "" {
		name = GenerateName(in.AppType)
	} else if err := ValidateName(name); err != nil {
		return Accepted{}, err
	}
	claim, prior, err := s.claim(ctx, orgID, idem)
	if err != nil || prior != nil {
		return deref(prior), err
	}
	now := s.now()
	d := Deployment{
		ID: uuid.NewString(), OrgID: orgID, Name: name, AppType: in.AppType,
		Status: Provisioning, EnvironmentID: EnvironmentDefault, CreatedAt: now, UpdatedAt: now,
	}
	op := newOperation(orgID, d.ID, OpCreate, now)
	d.OperationID = op.ID
	if err := s.Store.CreateDeployment(ctx, &d, op, claim); err != nil {
		s.release(ctx, claim)
		return Accepted{}, fmt.Errorf("create deployment: %w", err)
	}
	s.enqueue(ctx, op)
	return Accepted{DeploymentID: d.ID, OperationID: op.ID}, nil
}

// claim takes the idempotency key, or returns the earlier result under it.
func (s *Service) claim(ctx context.Context, orgID string, idem *Idempotency) (*Claim, *Accepted, error) {
	if idem == nil {
		return nil, nil, nil
	}
	c := &Claim{OrgID: orgID, Key: idem.Key, Token: uuid.NewString()}
	prior, err := s.Store.ClaimIdempotency(ctx, *c, idem.Fingerprint, s.now())
	if err != nil || prior != nil {
		if prior != nil {
			prior.Replayed = true
		}
		return nil, prior, err
	}
	return c, nil, nil
}

// release gives the key back after a failure, so the client's retry runs.
func (s *Service) release(ctx context.Context, c *Claim) {
	if c == nil {
		return
	}
	if err := s.Store.ReleaseIdempotency(context.WithoutCancel(ctx), *c); err != nil {
		// The claim's lease expires on its own; a retry waits at most that long.
		s.log().WarnContext(ctx, "idempotency release failed", "err", err)
	}
}

func deref(a *Accepted) Accepted {
	if a == nil {
		return Accepted{}
	}
	return *a
}

// Get returns one deployment of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (Deployment, error) {
	if !ValidID(id) {
		return Deployment{}, apierr.ErrDeploymentNotFound
	}
	return s.Store.GetDeployment(ctx, orgID, id)
}

// List returns a page of the organization's deployments, newest first.
func (s *Service) List(ctx context.Context, orgID string, page, perPage int) (Page, error) {
	if page < 1 || perPage < 1 || perPage > MaxPerPage {
		return Page{}, apierr.New(apierr.InvalidRequest, "Invalid pagination")
	}
	return s.Store.ListDeployments(ctx, orgID, page, perPage)
}

// Operation returns one operation of the organization.
func (s *Service) Operation(ctx context.Context, orgID, id string) (Operation, error) {
	if !ValidOperationID(id) {
		return Operation{}, apierr.ErrOperationNotFound
	}
	return s.Store.GetOperation(ctx, orgID, id)
}

// Delete starts destroying a deployment and returns the destroy operation. It
// is idempotent while the destroy runs: every caller gets the one in-flight
// destroy operation. A create still in flight is cancelled in the same
// transaction, so a deployment deleted while provisioning never becomes ready.
func (s *Service) Delete(ctx context.Context, orgID, id string, idem *Idempotency) (Accepted, error) {
	if !ValidID(id) {
		return Accepted{}, apierr.ErrDeploymentNotFound
	}
	claim, prior, err := s.claim(ctx, orgID, idem)
	if err != nil || prior != nil {
		return deref(prior), err
	}
	acc, err := s.delete(ctx, orgID, id, claim)
	if err != nil {
		s.release(ctx, claim)
	}
	return acc, err
}

func (s *Service) delete(ctx context.Context, orgID, id string, claim *Claim) (Accepted, error) {
	for range maxRaces {
		d, err := s.Store.GetDeployment(ctx, orgID, id)
		if err != nil {
			return Accepted{}, err
		}
		switch {
		case d.Status == Destroyed:
			return Accepted{}, apierr.ErrDeploymentDestroyed
		case d.Status == Destroying && d.OperationID != "":
			acc := Accepted{DeploymentID: id, OperationID: d.OperationID}
			if claim != nil {
				if err := s.Store.CompleteIdempotency(ctx, *claim, acc); err != nil {
					return Accepted{}, err
				}
			}
			return acc, nil
		case !d.Status.Deletable():
			return Accepted{}, fmt.Errorf("deployment %s in unexpected status %q", d.ID, d.Status)
		}
		now := s.now()
		op := newOperation(orgID, d.ID, OpDelete, now)
		var cancel *Operation
		if d.Status == Provisioning && d.OperationID != "" {
			cancel = &Operation{ID: d.OperationID, OrgID: orgID, DeploymentID: d.ID, Type: OpCreate}
		}
		err = s.Store.BeginDelete(ctx, d, op, cancel, claim)
		if errors.Is(err, ErrConflict) {
			continue // someone else changed it; re-read and decide again
		}
		if err != nil {
			return Accepted{}, fmt.Errorf("begin delete: %w", err)
		}
		s.enqueue(ctx, op)
		return Accepted{DeploymentID: id, OperationID: op.ID}, nil
	}
	return Accepted{}, ErrConflict
}

func (s *Service) enqueue(ctx context.Context, op Operation) {
	if err := s.Queue.Enqueue(ctx, TaskFor(op), 0); err != nil {
		// Accepted already: the reconciler will find the pending operation.
		s.log().ErrorContext(ctx, "enqueue failed; reconciler will retry",
			"operation_id", op.ID, "deployment_id", op.DeploymentID, "err", err)
	}
}

func newOperation(orgID, depID string, t OpType, now time.Time) Operation {
	return Operation{
		ID: OperationPrefix + uuid.NewString(), OrgID: orgID, DeploymentID: depID,
		Type: t, Status: OpPending, CreatedAt: now, UpdatedAt: now,
	}
}

// URLFor is the access URL of a ready deployment.
func URLFor(d Deployment, baseDomain string) string {
	short := d.ID
	if len(short) >= 13 {
		short = short[:8] + short[9:13] // 12 hex digits of the UUID
	}
	return "https://" + string(d.AppType) + "." + short + "." + baseDomain
}
