// Package deployment holds the domain: deployments, the operations that change
// them, the rules for valid input and legal status changes, and the Service
// that the HTTP handlers call. It knows nothing about HTTP or DynamoDB.
package deployment

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/onvera/deployments/pkg/apierr"
)

// AppType is what a deployment runs.
type AppType string

const (
	Airflow  AppType = "airflow"
	Superset AppType = "superset"
)

// Valid reports whether t is a supported application type.
func (t AppType) Valid() bool { return t == Airflow || t == Superset }

// Status is a deployment's lifecycle state.
type Status string

const (
	Provisioning Status = "provisioning"
	Ready        Status = "ready"
	Destroying   Status = "destroying"
	Failed       Status = "failed"
	Destroyed    Status = "destroyed"
)

// Deletable reports whether a delete may start from s.
func (s Status) Deletable() bool { return s == Provisioning || s == Ready || s == Failed }

// OpType is what an operation does.
type OpType string

const (
	OpCreate OpType = "create"
	OpDelete OpType = "delete"
)

// OpStatus is an operation's progress.
type OpStatus string

const (
	OpPending   OpStatus = "pending"
	OpRunning   OpStatus = "running"
	OpSucceeded OpStatus = "succeeded"
	OpFailed    OpStatus = "failed"
)

// Terminal reports whether the operation is finished.
func (s OpStatus) Terminal() bool { return s == OpSucceeded || s == OpFailed }

// EnvironmentDefault is the only environment today.
const EnvironmentDefault = "env_default"

// OperationPrefix starts every operation id.
const OperationPrefix = "op_"

// Deployment is one managed application instance of an organization.
type Deployment struct {
	ID            string
	OrgID         string
	Name          string
	AppType       AppType
	Status        Status
	URL           string // empty until ready
	EnvironmentID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Seq           int64  // dense per-organization creation number, 1-based
	OperationID   string // in-flight operation, empty when none
	Version       int64  // bumped by every write; guards conditional updates
}

// Operation is one asynchronous change to a deployment.
type Operation struct {
	ID           string
	OrgID        string
	DeploymentID string
	Type         OpType
	Status       OpStatus
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CompletedAt  time.Time // zero until terminal
	Error        *OpError
	Progress     *Progress // what the driver last reported while running
}

// Progress is a running operation's current step.
type Progress struct {
	Step           string `json:"step" dynamodbav:"step"`
	ResourcesDone  int    `json:"resources_done" dynamodbav:"resources_done"`
	ResourcesTotal int    `json:"resources_total" dynamodbav:"resources_total"`
}

// OpError says why an operation failed.
type OpError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes recorded on failed operations.
const (
	OpErrCancelled         = "CANCELLED"
	OpErrProvisionFailed   = "PROVISIONING_FAILED"
	OpErrDestroyFailed     = "DESTROY_FAILED"
	OpErrRetriesExhausted  = "RETRIES_EXHAUSTED"
	OpErrDeploymentChanged = "DEPLOYMENT_CHANGED"
)

// Page is one page of an organization's deployments, newest first.
type Page struct {
	Items   []Deployment
	Page    int
	PerPage int
	Total   int64
}

// Pages is the number of pages at this page size.
func (p Page) Pages() int64 {
	if p.Total == 0 {
		return 0
	}
	return (p.Total + int64(p.PerPage) - 1) / int64(p.PerPage)
}

// Pagination limits.
const (
	DefaultPerPage = 50
	MaxPerPage     = 100
	MaxNameRunes   = 100
)

// CreateInput is a validated create request.
type CreateInput struct {
	AppType AppType
	Name    string // empty means generate one
}

// ValidateName checks a client-supplied name: 1 to 100 printable characters,
// not only spaces.
func ValidateName(name string) error {
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < 1 || n > MaxNameRunes || strings.TrimSpace(name) == "" {
		return apierr.New(apierr.InvalidRequest, "Invalid name. Must be 1 to 100 printable characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return apierr.New(apierr.InvalidRequest, "Invalid name. Must be 1 to 100 printable characters")
		}
	}
	return nil
}

// ValidID reports whether id is a deployment id (a UUID in canonical form).
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	_, err := uuid.Parse(id)
	return err == nil
}

// ValidOperationID reports whether id is an operation id (op_<uuid>).
func ValidOperationID(id string) bool {
	return strings.HasPrefix(id, OperationPrefix) && ValidID(id[len(OperationPrefix):])
}

// Store persists deployments and operations. Every write is conditional; a
// lost race is reported as ErrConflict so the Service can re-read and decide.
type Store interface {
	IdempotencyStore
	// CreateDeployment writes d (its Seq assigned by the store) and op
	// atomically, completing claim (if any) in the same transaction.
	CreateDeployment(ctx context.Context, d *Deployment, op Operation, claim *Claim) error
	GetDeployment(ctx context.Context, orgID, id string) (Deployment, error)
	ListDeployments(ctx context.Context, orgID string, page, perPage int) (Page, error)
	// BeginDelete moves d (as read, at d.Version) to destroying with op in
	// flight; cancel, if set, is the create operation it supersedes; claim,
	// if set, is completed in the same transaction.
	BeginDelete(ctx context.Context, d Deployment, op Operation, cancel *Operation, claim *Claim) error
	GetOperation(ctx context.Context, orgID, id string) (Operation, error)
	// Touch moves op's reconciler deadline to next (the reconciler, which
	// re-enqueues but does no work).
	Touch(ctx context.Context, op Operation, next time.Time) error
	// Advance records that op is being worked on, in one write: its status
	// and updated_at as given (running, and since when), how far it got when
	// progress is set, and its next check, so the reconciler leaves it alone
	// until then.
	Advance(ctx context.Context, op Operation, next time.Time, progress *Progress) error
	// Finish ends op (pending or running) and moves its deployment in one
	// transaction.
	Finish(ctx context.Context, f Finish) error
	// FailOperation ends op as failed without touching its deployment (a superseded op).
	FailOperation(ctx context.Context, op Operation, e OpError, now time.Time) error
	// Stale lists operations in flight whose next check is overdue.
	Stale(ctx context.Context, before time.Time, limit int) ([]Operation, error)
}

// Finish describes an operation's end.
type Finish struct {
	Op         Operation
	OpStatus   OpStatus
	Error      *OpError
	Deployment Deployment // as read; its status is the expected one
	To         Status
	URL        string
	At         time.Time
}

// ErrConflict reports a lost conditional write. The Service and the
// provisioner re-read and retry on it; one that still escapes to a client
// (its write kept losing races with other writes to the same organization or
// deployment) is a 409 CONFLICT: nothing was written, and the same request
// can simply be sent again.
var ErrConflict = apierr.New(apierr.Conflict, "Too many concurrent changes. Retry the request")
