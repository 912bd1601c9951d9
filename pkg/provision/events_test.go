package provision_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/onvera/deployments/pkg/deployment"
)

// TestSQSEventFixture runs the real SQS batch payload in events/ through the
// provisioner: the good record completes, the malformed one is dropped, and
// the response marshals as Lambda expects (an empty list, never null).
func TestSQSEventFixture(t *testing.T) {
	s := newSetup(t, nil)
	raw, err := os.ReadFile("../../events/sqs-provisioning-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	acc, err := s.svc.Create(context.Background(), "org", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(s.q.tasks[0])
	ev.Records[0].Body = string(body)
	resp, err := s.prov.HandleSQS(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(resp)
	if string(out) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s", out)
	}
	if got, gotOp := s.state(t, "org", acc.DeploymentID, acc.OperationID); got.Status != deployment.Ready || gotOp.Status != deployment.OpSucceeded {
		t.Fatalf("%s %s", got.Status, gotOp.Status)
	}
}
