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
	Store      Store
	Queue      Queue
	BaseDomain string
	Log        *slog.Logger
	Now        func() time.Time
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
func (s *Service) Create(ctx context.Context, orgID string, in CreateInput) (Deployment, Operation, error) {
	if !in.AppType.Valid() {
		return Deployment{}, Operation{}, apierr.ErrInvalidAppType
	}
	name := in.Name
	if name == "" {
		name = GenerateName(in.AppType)
	} else if err := ValidateName(name); err != nil {
		return Deployment{}, Operation{}, err
	}
	now := s.now()
	d := Deployment{
		ID: uuid.NewString(), OrgID: orgID, Name: name, AppType: in.AppType,
		Status: Provisioning, EnvironmentID: EnvironmentDefault, CreatedAt: now, UpdatedAt: now,
	}
	op := newOperation(orgID, d.ID, OpCreate, now)
	d.OperationID = op.ID
	if err := s.Store.CreateDeployment(ctx, &d, op); err != nil {
		return Deployment{}, Operation{}, fmt.Errorf("create deployment: %w", err)
	}
	s.enqueue(ctx, op)
	return d, op, nil
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

// Delete starts destroying a deployment and returns the destroy operation's
// id. It is idempotent while the destroy runs: every caller gets the one
// in-flight destroy operation. A create still in flight is cancelled in the
// same transaction, so a deployment deleted while provisioning never becomes
// ready.
func (s *Service) Delete(ctx context.Context, orgID, id string) (string, error) {
	if !ValidID(id) {
		return "", apierr.ErrDeploymentNotFound
	}
	for range maxRaces {
		d, err := s.Store.GetDeployment(ctx, orgID, id)
		if err != nil {
			return "", err
		}
		switch {
		case d.Status == Destroyed:
			return "", apierr.ErrDeploymentDestroyed
		case d.Status == Destroying && d.OperationID != "":
			return d.OperationID, nil
		case !d.Status.Deletable():
			return "", fmt.Errorf("deployment %s in unexpected status %q", d.ID, d.Status)
		}
		now := s.now()
		op := newOperation(orgID, d.ID, OpDelete, now)
		var cancel *Operation
		if d.Status == Provisioning && d.OperationID != "" {
			cancel = &Operation{ID: d.OperationID, OrgID: orgID, DeploymentID: d.ID, Type: OpCreate}
		}
		err = s.Store.BeginDelete(ctx, d, op, cancel)
		if errors.Is(err, ErrConflict) {
			continue // someone else changed it; re-read and decide again
		}
		if err != nil {
			return "", fmt.Errorf("begin delete: %w", err)
		}
		s.enqueue(ctx, op)
		return op.ID, nil
	}
	return "", fmt.Errorf("delete %s: too many concurrent changes", id)
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
