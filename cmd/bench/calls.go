package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/awscount"
)

// serve runs one request through the app's HTTP handler in-process (what a
// route's Lambda runs) and returns the status, body and the AWS calls the
// request made, attributed through the request context.
func serve(h http.Handler, method, path, secret, body string) (int, []byte, awscount.Counts) {
	ctx, scope := awscount.WithScope(context.Background())
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	if secret != "" {
		req.Header.Set("X-API-Key", secret)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), scope.Snapshot()
}

type created struct {
	Data struct {
		DeploymentID string `json:"deployment_id"`
		OperationID  string `json:"operation_id"`
	} `json:"data"`
}

// calls: section 1, AWS calls per request, warm and cold key cache.
func (b *bench) calls(ctx context.Context) error {
	const sec = "1 calls"
	a, err := b.newApp(ctx, "calls")
	if err != nil {
		return err
	}
	h := a.Server.Handler()
	secret, err := mintKey(ctx, a, "org_calls")
	if err != nil {
		return err
	}
	type cell struct {
		warm, cold awscount.Counts
	}
	do := func(method, path, body string, want int) (warm, cold awscount.Counts, ids created, err error) {
		// Cold first: a fresh Authenticator is a new execution environment's.
		coldAuth(a)
		code, out, c := serve(h, method, path, secret, body)
		if code != want {
			return nil, nil, ids, fmt.Errorf("%s %s (cold): %d %s", method, path, code, out)
		}
		cold = c
		_ = json.Unmarshal(out, &ids)
		if method == http.MethodPost || method == http.MethodDelete {
			return nil, cold, ids, nil // a write is measured once per state; warm is the next call
		}
		code, out, c = serve(h, method, path, secret, body)
		if code != want {
			return nil, nil, ids, fmt.Errorf("%s %s (warm): %d %s", method, path, code, out)
		}
		return c, cold, ids, nil
	}
	// Create: cold on the first, warm on the second.
	createBody := `{"app_type":"superset"}`
	_, createCold, d1, err := do(http.MethodPost, "/api/v1/deployments", createBody, http.StatusAccepted)
	if err != nil {
		return err
	}
	code, out, createWarm := serve(h, http.MethodPost, "/api/v1/deployments", secret, createBody)
	if code != http.StatusAccepted {
		return fmt.Errorf("create (warm): %d %s", code, out)
	}
	var d2 created
	_ = json.Unmarshal(out, &d2)

	// The provisioner, one message at a time, as the Lambda sees a batch.
	provCreate, err := b.provisionerCalls(ctx, a, 2)
	if err != nil {
		return err
	}

	gets := map[string]cell{}
	for _, g := range []struct{ name, path string }{
		{"get deployment", "/api/v1/deployments/" + d1.Data.DeploymentID},
		{"get operation", "/api/v1/operations/" + d1.Data.OperationID},
		{"list (page + totals)", "/api/v1/deployments?page=1&per_page=100"},
	} {
		warm, cold, _, err := do(http.MethodGet, g.path, "", http.StatusOK)
		if err != nil {
			return err
		}
		gets[g.name] = cell{warm, cold}
	}
	// Delete: cold on the first, warm on the second (both ready by now).
	_, deleteCold, _, err := do(http.MethodDelete, "/api/v1/deployments/"+d1.Data.DeploymentID, "", http.StatusAccepted)
	if err != nil {
		return err
	}
	code, out, deleteWarm := serve(h, http.MethodDelete, "/api/v1/deployments/"+d2.Data.DeploymentID, secret, "")
	if code != http.StatusAccepted {
		return fmt.Errorf("delete (warm): %d %s", code, out)
	}
	provDelete, err := b.provisionerCalls(ctx, a, 2)
	if err != nil {
		return err
	}

	for _, name := range []string{"get deployment", "get operation"} {
		c := gets[name]
		b.add(sec, name+", warm key", fmtCounts(c.warm), "1 call", c.warm.Calls("") == 1)
		b.info(sec, name+", cold key", fmtCounts(c.cold))
	}
	l := gets["list (page + totals)"]
	b.add(sec, "list (page + totals), warm key", fmtCounts(l.warm), "≤ 2 calls (1 page + ≤ 1 totals)", l.warm.Calls("") <= 2)
	b.info(sec, "list (page + totals), cold key", fmtCounts(l.cold))
	writeBudget := "1 DynamoDB write + 1 SQS send"
	writeHolds := func(c awscount.Counts) bool { return c.Writes() == 1 && c.Op("SQS", "SendMessage").Calls == 1 }
	b.add(sec, "create, warm key", fmtCounts(createWarm), writeBudget, writeHolds(createWarm))
	b.add(sec, "create, cold key", fmtCounts(createCold), writeBudget, writeHolds(createCold))
	b.add(sec, "delete, warm key", fmtCounts(deleteWarm), writeBudget, writeHolds(deleteWarm))
	b.add(sec, "delete, cold key", fmtCounts(deleteCold), writeBudget, writeHolds(deleteCold))
	b.info(sec, "provisioner, per create message (delay 0)", fmtCounts(provCreate))
	b.info(sec, "provisioner, per delete message (delay 0)", fmtCounts(provDelete))
	b.note("Calls are counted by pkg/awscount (an SDK middleware at the end of the Initialize step, so a retry is not a new call) and attributed per request through the request context; requests run in-process through the same http.Handler a route's Lambda serves. A cold key adds one eventually consistent GetItem for the API key; the Authenticator then caches it for up to 60 s.")
	b.note("Provisioner calls are what the Lambda makes per message; the event source mapping's ReceiveMessage/DeleteMessageBatch are the Lambda service's, not the function's (the local gateway makes them once per batch of up to 10).")
	return nil
}

// provisionerCalls receives n messages from the app's queue and hands each to
// the provisioner as a one-record SQS event, returning the calls of one
// message (all n must cost the same; the largest is returned otherwise).
func (b *bench) provisionerCalls(ctx context.Context, a *app.App, n int) (awscount.Counts, error) {
	var worst awscount.Counts
	for got := 0; got < n; {
		out, err := a.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(a.Config.QueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 2,
		})
		if err != nil {
			return nil, err
		}
		if len(out.Messages) == 0 {
			return nil, fmt.Errorf("expected %d provisioning messages, got %d", n, got)
		}
		m := out.Messages[0]
		sctx, scope := awscount.WithScope(ctx)
		resp, _ := a.Provisioner.HandleSQS(sctx, events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), EventSource: "aws:sqs", EventSourceARN: "bench",
		}}})
		if len(resp.BatchItemFailures) > 0 {
			return nil, fmt.Errorf("provisioner failed message %s", aws.ToString(m.MessageId))
		}
		c := scope.Snapshot()
		if c.Calls("") > worst.Calls("") {
			worst = c
		}
		if _, err := a.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(a.Config.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return nil, err
		}
		got++
	}
	return worst, nil
}

func fmtCounts(c awscount.Counts) string {
	return fmt.Sprintf("%d calls: %s", c.Calls(""), c)
}
