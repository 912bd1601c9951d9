//go:build e2e

// Package e2e deploys the CDK stack onto a MiniStack of its own (the same
// script as `make deploy-local`) and drives the public flow through the
// emulated API Gateway: create, provisioner (SQS-triggered Lambda) makes it
// ready, list, delete, destroyed. Run with `make test-e2e-cdk`, which builds
// the Lambdas for this host first.
package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/infra/stack"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/httpapi"
	"github.com/onvera/deployments/pkg/queue"
	"github.com/onvera/deployments/pkg/testenv"
)

// TestMain starts MiniStack on a free loopback port (or uses AWS_ENDPOINT_URL)
// and stops it afterwards, which also removes everything deployed onto it.
func TestMain(m *testing.M) { testenv.Main(m) }

const (
	stage = "e2e"
	org   = "e2e-org"
	// provisionDelay is the simulated provider's work time: long enough that a
	// task sent straight to the DLQ is handled before the operation could succeed.
	provisionDelay = 4 * time.Second
)

func TestDeployedStackServesTheFlow(t *testing.T) {
	root := moduleRoot(t)
	checkHostBinaries(t, root)

	dir := t.TempDir()
	outputs := filepath.Join(dir, "outputs.json")
	start := time.Now()
	deploy := exec.Command("localstack/deploy-local.sh")
	deploy.Dir = root
	deploy.Env = append(os.Environ(), "STAGE="+stage, "CDK_OUT="+filepath.Join(dir, "cdk.out"),
		"OUTPUTS_FILE="+outputs, "CDK_ARGS=-c provisionDelay="+provisionDelay.String())
	var stderr bytes.Buffer
	deploy.Stderr = &stderr
	out, err := deploy.Output()
	if err != nil {
		t.Fatalf("deploy-local: %v\n%s", err, tail(stderr.String(), 4000))
	}
	base := strings.TrimSpace(lastLine(string(out)))
	t.Logf("deployed in %s; API at %s", time.Since(start).Round(time.Millisecond), base)

	var outs map[string]map[string]string
	raw, err := os.ReadFile(outputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &outs); err != nil {
		t.Fatal(err)
	}
	o := outs[stack.StackName(stage)]
	if o["TableName"] == "" || o["ApiId"] == "" || !strings.HasSuffix(base, "/_aws/execute-api/"+o["ApiId"]) {
		t.Fatalf("outputs %v, url %q", o, base)
	}

	key := mintKey(t, root, o["TableName"])

	t.Run("create, ready, list, delete, destroyed", func(t *testing.T) {
		c := client{t: t, base: base, key: key}
		// The gateway routes exist and the handler authenticates (no key -> 401 from the Lambda).
		if st, body := c.doWith("", "GET", "/api/v1/deployments", ""); st != 401 || !strings.Contains(body, "INVALID_API_KEY") {
			t.Fatalf("no key: %d %s", st, body)
		}

		// create
		var created struct {
			Data struct {
				DeploymentID string `json:"deployment_id"`
				OperationID  string `json:"operation_id"`
			} `json:"data"`
		}
		c.json("POST", "/api/v1/deployments", `{"app_type":"airflow","name":"e2e airflow"}`, 202, &created)
		depID, opID := created.Data.DeploymentID, created.Data.OperationID
		if depID == "" || opID == "" {
			t.Fatalf("create returned %+v", created)
		}

		// the SQS-triggered provisioner Lambda finishes the operation
		op := c.waitOperation(opID)
		if op.Status != "succeeded" || op.Type != "create" || op.DeploymentID != depID {
			t.Fatalf("create operation ended %+v", op)
		}
		dep := c.deployment(depID)
		if dep.Status != "ready" || dep.URL == nil || *dep.URL == "" {
			t.Fatalf("deployment after create: %+v", dep)
		}

		// list
		var list struct {
			Data struct {
				Items []deploymentView `json:"items"`
			} `json:"data"`
		}
		c.json("GET", "/api/v1/deployments", "", 200, &list)
		if len(list.Data.Items) != 1 || list.Data.Items[0].ID != depID || list.Data.Items[0].Status != "ready" {
			t.Fatalf("list: %+v", list.Data.Items)
		}

		// delete
		var deleted struct {
			Data struct {
				OperationID string `json:"operation_id"`
			} `json:"data"`
		}
		c.json("DELETE", "/api/v1/deployments/"+depID, "", 202, &deleted)
		op = c.waitOperation(deleted.Data.OperationID)
		if op.Status != "succeeded" || op.Type != "delete" {
			t.Fatalf("delete operation ended %+v", op)
		}
		if dep := c.deployment(depID); dep.Status != "destroyed" {
			t.Fatalf("deployment after delete: %+v", dep)
		}
	})
	t.Run("dead-lettered task fails its operation", func(t *testing.T) {
		c := client{t: t, base: base, key: key}
		deadLetter(t, c, o["DeadLetterQueueUrl"])
	})
	t.Logf("create -> ready -> delete -> destroyed through %d routes in %s", len(httpapi.Routes), time.Since(start).Round(time.Millisecond))
}

// deadLetter sends a new deployment's task straight to the DLQ, as SQS does
// after MaxReceiveCount failed receives: the provisioner's DLQ event source
// must end the operation failed with an error, never leave it in flight.
func deadLetter(t *testing.T, c client, dlqURL string) {
	var created struct {
		Data struct {
			DeploymentID string `json:"deployment_id"`
			OperationID  string `json:"operation_id"`
		} `json:"data"`
	}
	c.json("POST", "/api/v1/deployments", `{"app_type":"superset","name":"e2e dead letter"}`, 202, &created)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q := &queue.SQS{Client: sqs.NewFromConfig(awsCfg), URL: dlqURL}
	task := deployment.Task{OperationID: created.Data.OperationID, DeploymentID: created.Data.DeploymentID, OrgID: org, Type: deployment.OpCreate}
	if err := q.Enqueue(context.Background(), task, 0); err != nil {
		t.Fatal(err)
	}
	op := c.waitOperation(created.Data.OperationID)
	if op.Status != "failed" || len(op.Error) == 0 || string(op.Error) == "null" {
		t.Fatalf("dead-lettered operation ended %+v (error %s)", op, op.Error)
	}
	if dep := c.deployment(created.Data.DeploymentID); dep.Status != "failed" {
		t.Fatalf("deployment of a dead-lettered create: %+v", dep)
	}
}

type deploymentView struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	URL    *string `json:"url"`
}

type operationView struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Status       string          `json:"status"`
	DeploymentID string          `json:"deployment_id"`
	Error        json.RawMessage `json:"error"`
}

type client struct {
	t    *testing.T
	base string
	key  string
}

func (c client) doWith(key, method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c client) json(method, path, body string, want int, v any) {
	c.t.Helper()
	st, b := c.doWith(c.key, method, path, body)
	if st != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, b)
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

func (c client) deployment(id string) deploymentView {
	c.t.Helper()
	var v struct {
		Data deploymentView `json:"data"`
	}
	c.json("GET", "/api/v1/deployments/"+id, "", 200, &v)
	return v.Data
}

// waitOperation polls until the operation is terminal (bounded: 90 s; each
// poll is a fresh Lambda process on MiniStack).
func (c client) waitOperation(id string) operationView {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var v struct {
			Data operationView `json:"data"`
		}
		c.json("GET", "/api/v1/operations/"+id, "", 200, &v)
		if v.Data.Status == "succeeded" || v.Data.Status == "failed" {
			return v.Data
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("operation %s still %q after 90s", id, v.Data.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// mintKey writes an API key into the deployed table with the operator CLI.
func mintKey(t *testing.T, root, table string) string {
	t.Helper()
	cmd := exec.Command("go", "run", "./cmd/onvera", "keys", "create", "--org", org,
		"--scopes", "deployments:read,deployments:write")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ONVERA_TABLE="+table)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	return strings.TrimSpace(lastLine(string(out)))
}

// checkHostBinaries fails early, with the fix, when build/ holds Lambdas of
// another architecture: MiniStack would fail every invoke with exec format error.
func checkHostBinaries(t *testing.T, root string) {
	t.Helper()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	for _, r := range httpapi.Routes {
		checkBinary(t, filepath.Join(root, "build", r.Name, "bootstrap"), want)
	}
	checkBinary(t, filepath.Join(root, "build", stack.ProvisionerName, "bootstrap"), want)
	checkBinary(t, filepath.Join(root, "build", stack.ReconcilerName, "bootstrap"), want)
}

func checkBinary(t *testing.T, path string, want elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%v: run `make lambdas ARCH=%s` (or `make test-e2e-cdk`)", err, runtime.GOARCH)
	}
	defer f.Close()
	if f.Machine != want {
		t.Fatalf("%s is %s, this host needs %s: run `make lambdas ARCH=%s`", path, f.Machine, want, runtime.GOARCH)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
