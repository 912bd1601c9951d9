package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/faults"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// client is an API client that retries like a careful integrator: the same
// Idempotency-Key on 5xx, 409 and transport errors.
type client struct {
	base, key string
	http      *http.Client
}

type accepted struct {
	depID, opID string
	kind        deployment.OpType
}

func (c *client) call(method, path, idem, body string) (int, map[string]string) {
	var last string
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", c.key)
		req.Header.Set("Idempotency-Key", idem)
		res, err := c.http.Do(req)
		status := 0
		var out struct {
			Data map[string]any `json:"data"`
		}
		if err == nil {
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			status = res.StatusCode
			_ = json.Unmarshal(raw, &out)
			last = string(raw)
		}
		if (status == 0 || status >= 500 || status == 409 && strings.HasPrefix(path, "/api/v1/deployments") && method == "POST") && attempt < 60 {
			// Patient enough to outlast an abandoned claim's lease (30 s).
			time.Sleep(min(time.Duration(50*(attempt+1))*time.Millisecond, time.Second))
			continue
		}
		ids := map[string]string{"last": last}
		for k, v := range out.Data {
			if s, ok := v.(string); ok {
				ids[k] = s
			}
		}
		return status, ids
	}
}

// run drives a mixed workload and returns what the API accepted.
func run(t *testing.T, c *client, prefix string, creates int, deleteEvery int, concurrency int) []accepted {
	var mu sync.Mutex
	var out []accepted
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i := range creates {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			apps := []string{"airflow", "superset"}
			status, ids := c.call("POST", "/api/v1/deployments", fmt.Sprintf("%screate-%d", prefix, i), fmt.Sprintf(`{"app_type":%q}`, apps[i%2]))
			if status != 202 {
				t.Logf("create %d refused: %d %s", i, status, ids["last"])
				return
			}
			mu.Lock()
			out = append(out, accepted{ids["deployment_id"], ids["operation_id"], deployment.OpCreate})
			mu.Unlock()
			if i%deleteEvery != 0 {
				return
			}
			if i%(2*deleteEvery) == 0 {
				time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond) // some while provisioning, some after
			}
			status, dids := c.call("DELETE", "/api/v1/deployments/"+ids["deployment_id"], fmt.Sprintf("%sdelete-%d", prefix, i), "")
			if status != 202 {
				t.Logf("delete %d refused: %d %s", i, status, dids["last"])
			}
			if status == 202 {
				mu.Lock()
				out = append(out, accepted{ids["deployment_id"], dids["operation_id"], deployment.OpDelete})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// verify waits until every accepted operation is terminal and checks each
// deployment's end state against its operations, reading through a clean store.
func verify(t *testing.T, st *dynamostore.Store, org string, acc []accepted, within time.Duration) (stuck int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	pending := map[string]accepted{}
	for _, a := range acc {
		pending[a.opID] = a
	}
	for len(pending) > 0 && time.Now().Before(deadline) {
		for id := range pending {
			op, err := st.GetOperation(ctx, org, id)
			if err != nil {
				t.Fatalf("accepted operation %s lost: %v", id, err)
			}
			if op.Status.Terminal() {
				delete(pending, id)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for id := range pending {
		op, _ := st.GetOperation(ctx, org, id)
		t.Errorf("operation %s stuck in %s", id, op.Status)
	}
	byDep := map[string][]accepted{}
	for _, a := range acc {
		byDep[a.depID] = append(byDep[a.depID], a)
	}
	for depID, ops := range byDep {
		d, err := st.GetDeployment(ctx, org, depID)
		if err != nil {
			t.Fatalf("accepted deployment %s lost: %v", depID, err)
		}
		var create, del *deployment.Operation
		for _, a := range ops {
			op, _ := st.GetOperation(ctx, org, a.opID)
			if a.kind == deployment.OpCreate {
				create = &op
			} else {
				del = &op
			}
		}
		// Versions count every status write, so a deployment that moved more
		// often than its lifecycle allows (backwards, or twice) shows up here.
		var wantStatus deployment.Status
		var wantVersion int64
		switch {
		case del == nil && create.Status == deployment.OpSucceeded:
			wantStatus, wantVersion = deployment.Ready, 2
		case del == nil:
			wantStatus, wantVersion = deployment.Failed, 2
		case del.Status == deployment.OpSucceeded && create.Status == deployment.OpSucceeded:
			wantStatus, wantVersion = deployment.Destroyed, 4
		case del.Status == deployment.OpSucceeded && create.Error != nil && create.Error.Code == deployment.OpErrCancelled:
			wantStatus, wantVersion = deployment.Destroyed, 3
		default:
			wantStatus, wantVersion = deployment.Failed, 0
		}
		if d.Status != wantStatus || (wantVersion != 0 && d.Version != wantVersion) || d.OperationID != "" {
			t.Errorf("deployment %s: status %s version %d op %q; create %s %+v, delete %+v; want %s v%d",
				depID, d.Status, d.Version, d.OperationID, create.Status, create.Error, del, wantStatus, wantVersion)
		}
	}
	return len(pending)
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestFaultInjection: 20% of all DynamoDB and SQS calls, from the API and
// the provisioner alike, fail; every accepted request still ends terminal
// and consistent.
func TestFaultInjection(t *testing.T) {
	clean := testenv.AWSConfig(t)
	cfg := testenv.Config(t, clean)
	cfg.StaleAfter = 2 * time.Second
	faulty := clean.Copy()
	inj := faults.Wrap(&faulty, 0.20, 7)
	a, err := app.Build(cfg, faulty, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	inj.Enable(false)
	secret := testenv.Key(t, a.Store, "org_chaos", apikey.AllScopes...)
	inj.Enable(true)
	c := &client{base: testenv.Gateway(t, a), key: secret, http: &http.Client{Timeout: 30 * time.Second}}
	acc := run(t, c, "", 220, 2, 6)
	cleanStore := dynamostore.New(dynamodbClient(clean), cfg.Table)
	stuck := verify(t, cleanStore, "org_chaos", acc, 3*time.Minute)
	calls, injected := inj.Counts()
	creates, deletes := 0, 0
	for _, x := range acc {
		if x.kind == deployment.OpCreate {
			creates++
		} else {
			deletes++
		}
	}
	total := 0
	for _, v := range injected {
		total += v
	}
	t.Logf("fault injection: %d accepted operations (%d creates, %d deletes); %d AWS calls, %d faults injected %v; lost 0, stuck %d",
		len(acc), creates, deletes, calls, total, injected, stuck)
	if len(acc) < 300 {
		t.Fatalf("only %d operations accepted; the workload must exercise at least 300", len(acc))
	}
	if total < calls/10 {
		t.Fatalf("only %d faults in %d calls", total, calls)
	}
}

// TestEmulatorRestart: the emulator goes away in the middle of a run and
// comes back; every accepted request still ends terminal and consistent.
func TestEmulatorRestart(t *testing.T) {
	emu := &testenv.Emulator{StateDir: t.TempDir()}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	awsCfg := testenv.AWSConfig(t)
	awsCfg.BaseEndpoint = aws.String(emu.URL())
	cfg := testenv.Config(t, awsCfg)
	cfg.StaleAfter = 2 * time.Second
	cfg.ProvisionDelay = 1500 * time.Millisecond
	a, err := app.Build(cfg, awsCfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	secret := testenv.Key(t, a.Store, "org_restart", apikey.AllScopes...)
	c := &client{base: testenv.Gateway(t, a), key: secret, http: &http.Client{Timeout: 10 * time.Second}}

	// A first wave is accepted and still provisioning (1.5 s each) when the
	// emulator goes away; a second wave is sent into the outage and retried
	// by the client until the emulator is back.
	acc := run(t, c, "a-", 40, 4, 4)
	inFlight := 0
	for _, x := range acc {
		if op, err := a.Store.GetOperation(context.Background(), "org_restart", x.opID); err == nil && !op.Status.Terminal() {
			inFlight++
		}
	}
	emu.Stop()
	t.Logf("emulator stopped with %d of %d accepted operations in flight", inFlight, len(acc))
	if inFlight == 0 {
		t.Fatal("nothing in flight when the emulator stopped: the test would prove nothing")
	}
	var second []accepted
	var wg sync.WaitGroup
	wg.Go(func() { second = run(t, c, "b-", 40, 4, 4) })
	time.Sleep(3 * time.Second)
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Log("emulator restarted")
	wg.Wait()
	acc = append(acc, second...)
	stuck := verify(t, a.Store, "org_restart", acc, 2*time.Minute)
	t.Logf("emulator restart: %d accepted operations; lost 0, stuck %d", len(acc), stuck)
	if len(acc) < 80 || len(second) == 0 {
		t.Fatalf("only %d operations accepted (%d sent into the outage)", len(acc), len(second))
	}
}

// TestLostResponses: a write applied whose response is lost is retried by
// the SDK. Transactions are retried with the same ClientRequestToken, which
// DynamoDB treats as the same request: minting a key and starting a delete
// must still succeed, and the delete must still be enqueued.
func TestLostResponses(t *testing.T) {
	clean := testenv.AWSConfig(t)
	cfg := testenv.Config(t, clean)
	ctx := context.Background()

	// The mint is one transaction (the key and its directory entry): lose its response.
	lossy := clean.Copy()
	mintLoss := &lossOn{target: "TransactWriteItems"}
	lossy.HTTPClient = mintLoss
	secret, k, err := apikey.Mint(ctx, app.BuildAPI(cfg, lossy, quietLog()).Store, "org_lost", apikey.AllScopes, apikey.PrefixTest, time.Now())
	if err != nil || !apikey.WellFormed(secret) || mintLoss.lost != 1 {
		t.Fatalf("mint with its response lost: %v (lost %d; calls %v)", err, mintLoss.lost, mintLoss.calls)
	}
	a := app.BuildAPI(cfg, clean, quietLog())
	if got, err := a.Store.GetKey(ctx, k.Hash); err != nil || got.OrgID != "org_lost" {
		t.Fatalf("key not stored: %v", err)
	}

	created, err := a.Service.Create(ctx, "org_lost", deployment.CreateInput{AppType: deployment.Airflow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The delete is GetItem, then its transaction, then SendMessage: lose the
	// transaction's response.
	delLoss := &lossOn{target: "TransactWriteItems"}
	lossy = clean.Copy()
	lossy.HTTPClient = delLoss
	b := app.BuildAPI(cfg, lossy, quietLog())
	del, err := b.Service.Delete(ctx, "org_lost", created.DeploymentID, nil)
	if err != nil || delLoss.lost != 1 {
		t.Fatalf("delete with its transaction's response lost: %v (lost %d; calls %v)", err, delLoss.lost, delLoss.calls)
	}
	d, _ := a.Store.GetDeployment(ctx, "org_lost", created.DeploymentID)
	if d.Status != deployment.Destroying || d.OperationID != del.OperationID {
		t.Fatalf("deployment %s op %s, want destroying with %s", d.Status, d.OperationID, del.OperationID)
	}
	// The delete was enqueued although its write looked failed at first.
	found := false
	for range 3 {
		out, err := a.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(cfg.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			found = found || strings.Contains(aws.ToString(m.Body), del.OperationID)
		}
	}
	if !found {
		t.Fatal("delete task not enqueued")
	}
}

// lossOn applies every call but loses the response of the first one whose
// X-Amz-Target operation is target, as a timeout after the server did the
// work would. It chooses by operation, not by position, so a change in the
// order of calls cannot make it lose a different one.
type lossOn struct {
	target string // operation name, e.g. "TransactWriteItems"

	mu    sync.Mutex
	calls []string // X-Amz-Target of every call, in order
	lost  int
}

func (l *lossOn) Do(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	amzTarget := req.Header.Get("X-Amz-Target")
	l.calls = append(l.calls, amzTarget)
	res, err := http.DefaultClient.Do(req)
	if _, op, _ := strings.Cut(amzTarget, "."); op == l.target && l.lost == 0 && err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		l.lost++
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return res, err
}
