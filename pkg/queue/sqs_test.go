package queue_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/queue"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestEnqueueAndBackoff against the emulator: a delayed task is invisible
// until its delay, and a backed-off message until its backoff.
func TestEnqueueAndBackoff(t *testing.T) {
	awsCfg := testenv.AWSConfig(t)
	cfg := testenv.Config(t, awsCfg)
	client := sqs.NewFromConfig(awsCfg)
	q := &queue.SQS{Client: client, URL: cfg.QueueURL}
	ctx := context.Background()
	task := deployment.Task{OperationID: "op_1", DeploymentID: "d", OrgID: "o", Type: deployment.OpCreate}
	// wait long-polls for the checks that expect a message, so a slow
	// machine does not fail them; the checks that expect none do not wait.
	receiveWait := func(wait int32) []sqstypes.Message {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(cfg.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	receive := func() []sqstypes.Message { return receiveWait(0) }
	if err := q.Enqueue(ctx, task, 1500*time.Millisecond); err != nil { // rounds up to 2 s
		t.Fatal(err)
	}
	if m := receive(); len(m) != 0 {
		t.Fatal("delayed message delivered at once")
	}
	time.Sleep(2 * time.Second)
	m := receiveWait(2)
	if len(m) != 1 {
		t.Fatalf("delayed message not delivered: %d", len(m))
	}
	var got deployment.Task
	if err := json.Unmarshal([]byte(aws.ToString(m[0].Body)), &got); err != nil || got != task {
		t.Fatalf("body %s", aws.ToString(m[0].Body))
	}
	if err := q.Backoff(ctx, aws.ToString(m[0].ReceiptHandle), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if m := receive(); len(m) != 0 {
		t.Fatal("backed-off message came back early")
	}
	time.Sleep(time.Second)
	if m := receiveWait(2); len(m) != 1 || m[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("backed-off message not redelivered: %+v", m)
	}
}
