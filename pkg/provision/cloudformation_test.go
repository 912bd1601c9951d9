package provision_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/provision/cfn"
	"github.com/onvera/deployments/pkg/testenv"
)

func template(t *testing.T, name string) string {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cfnSetup runs the real provisioner with the CloudFormation driver against
// the emulator's CloudFormation. cfg is the driver's configuration without
// its client; BaseDomain, Poll and Timeout default to example.test, a second
// and a minute.
func cfnSetup(t *testing.T, cfg cfn.Driver) (setup, *cloudformation.Client, *cfn.Driver) {
	t.Helper()
	s := newSetup(t, nil)
	client := cloudformation.NewFromConfig(testenv.AWSConfig(t))
	cfg.Client = client
	if cfg.BaseDomain == "" {
		cfg.BaseDomain = "example.test"
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	drv, err := cfn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.prov.Driver = drv
	return s, client, drv
}

// airflowDriver is a driver configuration deploying body for Airflow and
// the small template for Superset.
func airflowDriver(t *testing.T, body string) cfn.Driver {
	return cfn.Driver{Templates: map[deployment.AppType]string{deployment.Airflow: body, deployment.Superset: template(t, "small.json")}}
}

// drive delivers tasks (the queued re-checks included) until the operation ends.
func (s setup) drive(t *testing.T, org, opID string, within time.Duration) deployment.Operation {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if len(s.q.tasks) > 0 {
			next := s.q.tasks[0]
			s.q.tasks = s.q.tasks[1:]
			s.deliver(t, false, next)
		}
		op, err := s.app.Store.GetOperation(context.Background(), org, opID)
		if err != nil {
			t.Fatal(err)
		}
		if op.Status.Terminal() {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s: %+v", opID, op.Status, op.Progress)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stackGone reports whether the stack no longer exists: CloudFormation
// answers "does not exist" for its name, or still lists it as
// DELETE_COMPLETE. Any other answer from CloudFormation fails the test.
func stackGone(t *testing.T, c *cloudformation.Client, name string) bool {
	t.Helper()
	out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist") {
		return true
	}
	if err != nil {
		t.Fatalf("describe stack %s: %v", name, err)
	}
	if len(out.Stacks) != 1 {
		t.Fatalf("describe stack %s: %d stacks, want 1", name, len(out.Stacks))
	}
	return out.Stacks[0].StackStatus == cfntypes.StackStatusDeleteComplete
}

// waitStackGone waits up to within for the stack to be gone.
func waitStackGone(t *testing.T, c *cloudformation.Client, name string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !stackGone(t, c, name) {
		if time.Now().After(deadline) {
			t.Fatalf("stack %s still exists after %s", name, within)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestCloudFormationLifecycle(t *testing.T) {
	s, client, _ := cfnSetup(t, airflowDriver(t, template(t, "small.json")))
	ctx := context.Background()
	acc, err := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	op := s.drive(t, "org", acc.OperationID, time.Minute)
	d, _ := s.app.Store.GetDeployment(ctx, "org", acc.DeploymentID)
	wantURL := deployment.URLFor(d, "example.test")
	if op.Status != deployment.OpSucceeded || d.Status != deployment.Ready || d.URL != wantURL {
		t.Fatalf("create: %s %+v; deployment %s %q (want %q)", op.Status, op.Error, d.Status, d.URL, wantURL)
	}
	out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(cfn.StackName(d))})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("stack: %v", err)
	}
	tags := map[string]string{}
	for _, tg := range out.Stacks[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags[cfn.TagOrganization] != "org" || tags[cfn.TagDeployment] != d.ID {
		t.Fatalf("tags %v", tags)
	}

	del, err := s.svc.Delete(ctx, "org", d.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	op = s.drive(t, "org", del.OperationID, time.Minute)
	d, _ = s.app.Store.GetDeployment(ctx, "org", d.ID)
	if op.Status != deployment.OpSucceeded || d.Status != deployment.Destroyed || !stackGone(t, client, cfn.StackName(d)) {
		t.Fatalf("delete: %s %+v; deployment %s", op.Status, op.Error, d.Status)
	}
}

func TestCloudFormationFailureReportsReasonAndCleansUp(t *testing.T) {
	s, client, _ := cfnSetup(t, airflowDriver(t, template(t, "failing.json")))
	ctx := context.Background()
	acc, _ := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	op := s.drive(t, "org", acc.OperationID, time.Minute)
	d, _ := s.app.Store.GetDeployment(ctx, "org", acc.DeploymentID)
	if op.Status != deployment.OpFailed || d.Status != deployment.Failed || op.Error == nil ||
		op.Error.Code != deployment.OpErrProvisionFailed || !strings.Contains(op.Error.Message, "Broken") {
		t.Fatalf("failure: %s %+v; deployment %s", op.Status, op.Error, d.Status)
	}
	t.Logf("reported reason: %s", op.Error.Message)
	waitStackGone(t, client, cfn.StackName(d), 30*time.Second) // the failed stack is cleaned up
	// The failed deployment can still be deleted: the stack is already gone.
	del, _ := s.svc.Delete(ctx, "org", d.ID, nil)
	if op := s.drive(t, "org", del.OperationID, time.Minute); op.Status != deployment.OpSucceeded {
		t.Fatalf("delete after failure: %s %+v", op.Status, op.Error)
	}
}

func TestCloudFormationRejectedTemplate(t *testing.T) {
	s, _, _ := cfnSetup(t, airflowDriver(t, template(t, "invalid.json")))
	acc, _ := s.svc.Create(context.Background(), "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	op := s.drive(t, "org", acc.OperationID, time.Minute)
	if op.Status != deployment.OpFailed || op.Error == nil || !strings.Contains(op.Error.Message, "AWS::Onvera::DoesNotExist") {
		t.Fatalf("rejected template: %s %+v", op.Status, op.Error)
	}
}

// TestCloudFormationTimeout: a create whose time ran out before its stack
// existed fails cleanly, without creating the stack (the in-progress branch
// is in the unit test).
func TestCloudFormationTimeout(t *testing.T) {
	s, client, drv := cfnSetup(t, airflowDriver(t, template(t, "small.json")))
	creates := &countCreates{API: drv.Client}
	drv.Client = creates
	ctx := context.Background()
	acc, _ := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	drv.Now = func() time.Time { return time.Now().Add(2 * time.Minute) } // past the 1 minute limit
	op := s.drive(t, "org", acc.OperationID, time.Minute)
	if op.Status != deployment.OpFailed || op.Error == nil || op.Error.Message != "Timed out before the stack could be created" {
		t.Fatalf("timeout: %s %+v", op.Status, op.Error)
	}
	d, _ := s.app.Store.GetDeployment(ctx, "org", acc.DeploymentID)
	if creates.n != 0 || !stackGone(t, client, cfn.StackName(d)) {
		t.Fatalf("a stack was created after the time ran out: %d CreateStack calls", creates.n)
	}
}

// countCreates counts the driver's CreateStack calls.
type countCreates struct {
	cfn.API
	n int
}

func (c *countCreates) CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, opts ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	c.n++
	return c.API.CreateStack(ctx, in, opts...)
}
