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
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/infra/internal/lint"
	"github.com/onvera/deployments/infra/stack"
	"github.com/onvera/deployments/pkg/client"
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
	root := lint.ModuleRoot(t)
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

	ctx := context.Background()
	// Every poll is a fresh Lambda process on MiniStack: bound the waits.
	wait := func(t *testing.T, c *client.Client, id string) client.Operation {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		op, err := c.WaitOperation(wctx, id, client.WaitOptions{})
		var failed *client.OperationFailedError
		if err != nil && !errors.As(err, &failed) {
			t.Fatalf("operation %s: %v (last seen %+v)", id, err, op)
		}
		return op
	}
	get := func(t *testing.T, c *client.Client, id string) client.Deployment {
		t.Helper()
		d, err := c.GetDeployment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("create, ready, list, delete, destroyed", func(t *testing.T) {
		c := client.New(base, key)
		// The gateway routes exist and the handler authenticates (no key -> 401 from the Lambda).
		_, err := client.New(base, "").ListDeployments(ctx, client.ListOptions{})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != "INVALID_API_KEY" {
			t.Fatalf("no key: %v", err)
		}

		created, err := c.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: "airflow", Name: "e2e airflow"})
		if err != nil || created.DeploymentID == "" || created.OperationID == "" {
			t.Fatalf("create: %+v %v", created, err)
		}
		depID := created.DeploymentID

		// the SQS-triggered provisioner Lambda finishes the operation
		op := wait(t, c, created.OperationID)
		if op.Status != "succeeded" || op.Type != "create" || op.DeploymentID != depID {
			t.Fatalf("create operation ended %+v", op)
		}
		if dep := get(t, c, depID); dep.Status != "ready" || dep.URL == nil || *dep.URL == "" {
			t.Fatalf("deployment after create: %+v", dep)
		}

		page, err := c.ListDeployments(ctx, client.ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != depID || page.Items[0].Status != "ready" {
			t.Fatalf("list: %+v %v", page.Items, err)
		}

		deleted, err := c.DeleteDeployment(ctx, depID)
		if err != nil {
			t.Fatal(err)
		}
		op = wait(t, c, deleted.OperationID)
		if op.Status != "succeeded" || op.Type != "delete" {
			t.Fatalf("delete operation ended %+v", op)
		}
		if dep := get(t, c, depID); dep.Status != "destroyed" {
			t.Fatalf("deployment after delete: %+v", dep)
		}
	})

	// A new deployment's task sent straight to the DLQ, as SQS does after
	// MaxReceiveCount failed receives: the provisioner's DLQ event source must
	// end the operation failed with an error, never leave it in flight.
	t.Run("dead-lettered task fails its operation", func(t *testing.T) {
		c := client.New(base, key)
		created, err := c.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: "superset", Name: "e2e dead letter"})
		if err != nil {
			t.Fatal(err)
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q := &queue.SQS{Client: sqs.NewFromConfig(awsCfg), URL: o["DeadLetterQueueUrl"]}
		task := deployment.Task{OperationID: created.OperationID, DeploymentID: created.DeploymentID, OrgID: org, Type: deployment.OpCreate}
		if err := q.Enqueue(ctx, task, 0); err != nil {
			t.Fatal(err)
		}
		if op := wait(t, c, created.OperationID); op.Status != "failed" || op.Error == nil {
			t.Fatalf("dead-lettered operation ended %+v", op)
		}
		if dep := get(t, c, created.DeploymentID); dep.Status != "failed" {
			t.Fatalf("deployment of a dead-lettered create: %+v", dep)
		}
	})
	t.Logf("create -> ready -> delete -> destroyed through %d routes in %s", len(httpapi.Routes), time.Since(start).Round(time.Millisecond))
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
	for _, name := range stack.FunctionNames() {
		checkBinary(t, filepath.Join(root, "build", name, "bootstrap"), want)
	}
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
