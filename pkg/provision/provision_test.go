package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/provision"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// capture records tasks instead of sending them, so a test can deliver them
// itself: duplicated, reordered, or never.
type capture struct{ tasks []deployment.Task }

func (c *capture) Enqueue(_ context.Context, t deployment.Task, _ time.Duration) error {
	c.tasks = append(c.tasks, t)
	return nil
}

type setup struct {
	app  *app.App
	q    *capture
	svc  *deployment.Service
	prov *provision.Provisioner
}

func newSetup(t *testing.T, driver provision.Driver) setup {
	a := testenv.App(t, func(c *config.Config) { c.ProvisionDelay = 0 })
	q := &capture{}
	svc := &deployment.Service{Store: a.Store, Queue: q}
	if driver == nil {
		driver = provision.Simulated{BaseDomain: "example.test"}
	}
	p := &provision.Provisioner{Store: a.Store, Queue: q, Driver: driver, StaleAfter: time.Second, DLQARN: "arn:dlq"}
	return setup{app: a, q: q, svc: svc, prov: p}
}

func event(dlq bool, tasks ...deployment.Task) events.SQSEvent {
	var ev events.SQSEvent
	for i, t := range tasks {
		b, _ := json.Marshal(t)
		arn := "arn:main"
		if dlq {
			arn = "arn:dlq"
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: string(rune('a' + i)), Body: string(b), EventSourceARN: arn})
	}
	return ev
}

func (s setup) deliver(t *testing.T, dlq bool, tasks ...deployment.Task) events.SQSEventResponse {
	t.Helper()
	resp, err := s.prov.HandleSQS(context.Background(), event(dlq, tasks...))
	if err != nil {
		t.Fatal(err)
	}
	if resp.BatchItemFailures == nil {
		t.Fatal("BatchItemFailures must be an empty slice, not nil")
	}
	return resp
}

func (s setup) state(t *testing.T, org, depID, opID string) (deployment.Deployment, deployment.Operation) {
	t.Helper()
	d, err := s.app.Store.GetDeployment(context.Background(), org, depID)
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.app.Store.GetOperation(context.Background(), org, opID)
	if err != nil {
		t.Fatal(err)
	}
	return d, op
}

// TestDuplicateAndReorderedDeliveries delivers every task three times, in
// reverse order, and expects the same final state as one clean delivery.
func TestDuplicateAndReorderedDeliveries(t *testing.T) {
	s := newSetup(t, nil)
	ctx := context.Background()
	acc, err := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	createTask := s.q.tasks[0]
	s.deliver(t, false, createTask, createTask, createTask)
	got, op := s.state(t, "org", acc.DeploymentID, acc.OperationID)
	if got.Status != deployment.Ready || op.Status != deployment.OpSucceeded || got.URL == "" {
		t.Fatalf("after create: %s %s", got.Status, op.Status)
	}
	del, err := s.svc.Delete(ctx, "org", acc.DeploymentID, nil)
	delOpID := del.OperationID
	if err != nil {
		t.Fatal(err)
	}
	deleteTask := s.q.tasks[len(s.q.tasks)-1]
	// Stale create tasks arrive after, before and between the delete's copies.
	s.deliver(t, false, createTask, deleteTask, createTask, deleteTask, deleteTask, createTask)
	got, op = s.state(t, "org", acc.DeploymentID, delOpID)
	if got.Status != deployment.Destroyed || op.Status != deployment.OpSucceeded || got.OperationID != "" {
		t.Fatalf("after delete: %s %s op_id=%q", got.Status, op.Status, got.OperationID)
	}
	// Still the create operation's original outcome.
	if _, cop := s.state(t, "org", acc.DeploymentID, acc.OperationID); cop.Status != deployment.OpSucceeded {
		t.Fatalf("create op rewritten to %s", cop.Status)
	}
	if got.Version != 4 { // created, ready, destroying, destroyed: no extra moves
		t.Fatalf("version %d: the deployment moved more often than its lifecycle", got.Version)
	}
}

// failing fails permanently on provision and transiently on destroy.
type failing struct{ destroyCalls atomic.Int32 }

func (*failing) Provision(context.Context, deployment.Deployment, deployment.Operation) (provision.Result, error) {
	return provision.Result{Failure: &deployment.OpError{Code: "QUOTA_EXCEEDED", Message: "no capacity in region"}}, nil
}

func (f *failing) Destroy(context.Context, deployment.Deployment, deployment.Operation) (provision.Result, error) {
	f.destroyCalls.Add(1)
	return provision.Result{}, errors.New("provider timed out")
}

func TestFailures(t *testing.T) {
	f := &failing{}
	s := newSetup(t, f)
	ctx := context.Background()
	acc, _ := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Superset, Name: "x"}, nil)
	s.deliver(t, false, s.q.tasks[0])
	got, op := s.state(t, "org", acc.DeploymentID, acc.OperationID)
	if got.Status != deployment.Failed || op.Status != deployment.OpFailed || op.Error == nil || op.Error.Code != "QUOTA_EXCEEDED" || op.CompletedAt.IsZero() {
		t.Fatalf("permanent failure: %s %s %+v", got.Status, op.Status, op.Error)
	}

	// A failed deployment can be deleted; transient destroy errors are retried
	// (reported as batch item failures) and, once the task is dead-lettered,
	// the operation and deployment end failed instead of staying stuck.
	del, err := s.svc.Delete(ctx, "org", acc.DeploymentID, nil)
	delOp := del.OperationID
	if err != nil {
		t.Fatal(err)
	}
	task := s.q.tasks[len(s.q.tasks)-1]
	resp := s.deliver(t, false, task)
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("transient error not reported for retry: %+v", resp)
	}
	s.deliver(t, true, task)
	got, op = s.state(t, "org", acc.DeploymentID, delOp)
	if got.Status != deployment.Failed || op.Status != deployment.OpFailed || op.Error == nil || op.Error.Code != deployment.OpErrRetriesExhausted {
		t.Fatalf("dead letter: %s %s %+v", got.Status, op.Status, op.Error)
	}
	calls := f.destroyCalls.Load()
	s.deliver(t, true, task) // a duplicate dead letter changes nothing
	if f.destroyCalls.Load() != calls {
		t.Fatal("dead letter called the driver")
	}
}

func TestMalformedMessagesAreDropped(t *testing.T) {
	s := newSetup(t, nil)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: "not json"},
		{MessageId: "2", Body: `{"operation_id":"op_x"}`},
		{MessageId: "3", Body: `{"operation_id":"op_00000000-0000-0000-0000-000000000000","org_id":"org","deployment_id":"d","type":"create"}`},
	}}
	resp, err := s.prov.HandleSQS(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("malformed or unknown tasks must be dropped, not retried: %+v %v", resp, err)
	}
}

// TestReconcilerFindsLostTasks: a create whose task never reached the queue
// is re-enqueued once its deadline passes, then completes.
func TestReconcilerFindsLostTasks(t *testing.T) {
	s := newSetup(t, nil)
	ctx := context.Background()
	acc, _ := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	s.q.tasks = nil // the send was lost
	if n, _ := s.prov.Reconcile(ctx); n != 0 {
		t.Fatalf("re-enqueued before it was overdue: %d", n)
	}
	now := time.Now().Add(2 * time.Second) // StaleAfter is 1s
	s.prov.Now = func() time.Time { return now }
	s.prov.Driver = provision.Simulated{BaseDomain: "example.test", Now: s.prov.Now}
	if n, err := s.prov.Reconcile(ctx); err != nil || n != 1 || len(s.q.tasks) != 1 {
		t.Fatalf("reconcile: n=%d err=%v tasks=%d", n, err, len(s.q.tasks))
	}
	if n, _ := s.prov.Reconcile(ctx); n != 0 {
		t.Fatalf("re-enqueued again before its new deadline: %d", n)
	}
	s.deliver(t, false, s.q.tasks[0])
	if got, op := s.state(t, "org", acc.DeploymentID, acc.OperationID); got.Status != deployment.Ready || op.Status != deployment.OpSucceeded {
		t.Fatalf("after reconcile: %s %s", got.Status, op.Status)
	}
	s.prov.Now = func() time.Time { return now.Add(time.Hour) }
	if n, _ := s.prov.Reconcile(ctx); n != 0 {
		t.Fatalf("finished operation re-enqueued: %d", n)
	}
}

// TestSimulatedDelayRedelivers: the provisioner never sleeps; it re-enqueues
// with the remaining delay and finishes on a later delivery.
func TestSimulatedDelayRedelivers(t *testing.T) {
	s := newSetup(t, nil)
	now := time.Now()
	clock := func() time.Time { return now }
	s.prov.Driver = provision.Simulated{Delay: 3 * time.Second, BaseDomain: "example.test", Now: clock}
	s.prov.Now = clock
	ctx := context.Background()
	acc, _ := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	s.deliver(t, false, s.q.tasks[0])
	if len(s.q.tasks) != 2 {
		t.Fatalf("expected a re-check task, have %d tasks", len(s.q.tasks))
	}
	if got, op := s.state(t, "org", acc.DeploymentID, acc.OperationID); got.Status != deployment.Provisioning || op.Status != deployment.OpRunning {
		t.Fatalf("mid-way: %s %s", got.Status, op.Status)
	}
	now = now.Add(3 * time.Second)
	s.deliver(t, false, s.q.tasks[1])
	if got, op := s.state(t, "org", acc.DeploymentID, acc.OperationID); got.Status != deployment.Ready || op.Status != deployment.OpSucceeded || got.URL != deployment.URLFor(got, "example.test") {
		t.Fatalf("after delay: %s %s %s", got.Status, op.Status, got.URL)
	}
}
