package cfn

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/onvera/deployments/pkg/deployment"
)

// slowStack is a small fake of a stack that stays in progress, for the
// branches a fast emulator never reaches.
type slowStack struct {
	status    cfntypes.StackStatus
	resources []cfntypes.ResourceStatus
	deletes   int
}

func (f *slowStack) CreateStack(context.Context, *cloudformation.CreateStackInput, ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	return &cloudformation.CreateStackOutput{}, nil
}
func (f *slowStack) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{StackStatus: f.status}}}, nil
}
func (f *slowStack) DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	return &cloudformation.DescribeStackEventsOutput{}, nil
}
func (f *slowStack) ListStackResources(context.Context, *cloudformation.ListStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error) {
	out := &cloudformation.ListStackResourcesOutput{}
	for _, s := range f.resources {
		out.StackResourceSummaries = append(out.StackResourceSummaries, cfntypes.StackResourceSummary{ResourceStatus: s, LogicalResourceId: aws.String("R")})
	}
	return out, nil
}
func (f *slowStack) DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	f.deletes++
	return &cloudformation.DeleteStackOutput{}, nil
}

const threeResources = `{"Resources": {"A": {"Type": "x"}, "B": {"Type": "x"}, "C": {"Type": "x"}}}`

func TestCloudFormationInProgressAndTimeout(t *testing.T) {
	fake := &slowStack{status: cfntypes.StackStatusCreateInProgress,
		resources: []cfntypes.ResourceStatus{cfntypes.ResourceStatusCreateComplete, cfntypes.ResourceStatusCreateInProgress}}
	now := time.Unix(10000, 0)
	drv, err := New(Driver{Client: fake, Templates: map[deployment.AppType]string{deployment.Airflow: threeResources},
		Poll: 20 * time.Second, Timeout: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	d := deployment.Deployment{ID: "550e8400-e29b-41d4-a716-446655440000", AppType: deployment.Airflow}
	op := deployment.Operation{ID: "op_1", UpdatedAt: now.Add(-59 * time.Minute)}
	res, err := drv.Provision(context.Background(), d, op)
	if err != nil || res.Done || res.Failure != nil || res.RetryAfter != 20*time.Second ||
		*res.Progress != (deployment.Progress{Step: "CREATE_IN_PROGRESS", ResourcesDone: 1, ResourcesTotal: 3}) {
		t.Fatalf("in progress: %+v %+v %v", res, res.Progress, err)
	}
	now = now.Add(2 * time.Minute) // past the limit
	res, err = drv.Provision(context.Background(), d, op)
	if err != nil || res.Failure == nil || fake.deletes != 1 {
		t.Fatalf("timeout: %+v %v deletes=%d", res, err, fake.deletes)
	}

	fake.status, fake.resources = cfntypes.StackStatusDeleteInProgress, []cfntypes.ResourceStatus{cfntypes.ResourceStatusDeleteComplete}
	op.UpdatedAt = now
	res, err = drv.Destroy(context.Background(), d, op)
	if err != nil || res.Done || *res.Progress != (deployment.Progress{Step: "DELETE_IN_PROGRESS", ResourcesDone: 1, ResourcesTotal: 3}) {
		t.Fatalf("deleting: %+v %v", res, err)
	}
	fake.status = cfntypes.StackStatusDeleteFailed
	if res, _ = drv.Destroy(context.Background(), d, op); res.Done || res.Failure != nil || fake.deletes != 2 {
		t.Fatalf("delete failed within the limit must be retried: %+v deletes=%d", res, fake.deletes)
	}
	now = now.Add(2 * time.Hour)
	if res, _ = drv.Destroy(context.Background(), d, op); res.Failure == nil || res.Failure.Code != deployment.OpErrDestroyFailed {
		t.Fatalf("delete failed past the limit: %+v", res)
	}
}
