package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
)

// cli runs the built onvera binary with the API in its environment.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

type result struct {
	code           int
	stdout, stderr string
}

func (c cli) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func (c cli) want(code int, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("onvera %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "onvera")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/onvera/deployments/cmd/onvera").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

type deploymentJSON struct {
	ID, Name, Status string
	URL              *string
}

type operationJSON struct {
	ID, Type, Status string
	Error            *struct{ Code, Message string }
}

// TestCLI drives the onvera binary against a local gateway: create --wait
// until ready, list, get, delete --wait, a failed operation (exit 3), usage
// errors (exit 2) and API and network errors (exit 1).
func TestCLI(t *testing.T) {
	t.Parallel()
	a := start(t, func(c *config.Config) { c.ProvisionDelay = 1500 * time.Millisecond })
	key := a.key(t, "org_cli", apikey.AllScopes...)
	c := cli{t: t, bin: buildCLI(t), env: []string{"ONVERA_API_URL=" + a.base, "ONVERA_API_KEY=" + key, "NO_COLOR="}}

	// create --wait: plain progress lines on stderr (not a terminal), the ready deployment on stdout.
	r := c.want(0, "deployments", "create", "--app", "airflow", "--name", "CLI Test", "--wait", "-o", "json")
	d := decode[deploymentJSON](t, r.stdout)
	if d.Status != "ready" || d.Name != "CLI Test" || d.URL == nil {
		t.Fatalf("create --wait printed %+v", d)
	}
	for _, s := range []string{"waiting for operation op_", "operation running", "operation succeeded", "done in"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("create --wait progress lacks %q:\n%s", s, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "\x1b[") || strings.Contains(r.stderr, "\r") {
		t.Errorf("progress on a non-terminal has terminal control codes: %q", r.stderr)
	}

	// list and get, both formats
	if ds := decode[[]deploymentJSON](t, c.want(0, "deployments", "list", "-o", "json").stdout); len(ds) != 1 || ds[0].ID != d.ID {
		t.Errorf("list -o json = %+v", ds)
	}
	if ds := decode[[]deploymentJSON](t, c.want(0, "deployments", "list", "--all", "-o", "json").stdout); len(ds) != 1 || ds[0].ID != d.ID {
		t.Errorf("list --all -o json = %+v", ds)
	}
	if out := c.want(0, "deployments", "list").stdout; !strings.Contains(out, "STATUS") || !strings.Contains(out, d.ID) || !strings.Contains(out, "ready") {
		t.Errorf("list table:\n%s", out)
	}
	if out := c.want(0, "deployments", "get", d.ID).stdout; !strings.Contains(out, "STATUS:") || !strings.Contains(out, "ready") {
		t.Errorf("get table:\n%s", out)
	}
	if g := decode[deploymentJSON](t, c.want(0, "deployments", "get", d.ID, "-o", "json").stdout); g.ID != d.ID {
		t.Errorf("get -o json (flag after the id) = %+v", g)
	}

	// delete: refused without --yes off a terminal, then --wait until destroyed, then 409.
	if r := c.want(2, "deployments", "delete", d.ID); !strings.Contains(r.stderr, "--yes") {
		t.Errorf("delete without --yes: %s", r.stderr)
	}
	r = c.want(0, "deployments", "delete", d.ID, "--yes", "--wait", "-o", "json")
	if op := decode[operationJSON](t, r.stdout); op.Type != "delete" || op.Status != "succeeded" {
		t.Errorf("delete --wait printed %+v", op)
	}
	if !strings.Contains(r.stderr, "operation succeeded") {
		t.Errorf("delete --wait progress:\n%s", r.stderr)
	}
	if g := decode[deploymentJSON](t, c.want(0, "deployments", "get", d.ID, "-o", "json").stdout); g.Status != "destroyed" {
		t.Errorf("after delete --wait the deployment is %s", g.Status)
	}
	if r := c.want(1, "deployments", "delete", d.ID, "--yes"); !strings.Contains(r.stderr, "DEPLOYMENT_DESTROYED") || !strings.Contains(r.stderr, "request id") {
		t.Errorf("delete of a destroyed deployment: %s", r.stderr)
	}

	// A failed operation is exit 3: a create cancelled by a delete while provisioning.
	acc := decode[struct {
		DeploymentID string `json:"deployment_id"`
		OperationID  string `json:"operation_id"`
	}](t,
		c.want(0, "deployments", "create", "--app", "superset", "-o", "json").stdout)
	c.want(0, "deployments", "delete", acc.DeploymentID, "--yes")
	r = c.want(3, "operations", "get", acc.OperationID, "--wait", "-o", "json")
	if op := decode[operationJSON](t, r.stdout); op.Status != "failed" || op.Error == nil {
		t.Errorf("cancelled create operation = %+v", op)
	}
	if !strings.Contains(r.stderr, "failed") {
		t.Errorf("exit 3 without saying why: %s", r.stderr)
	}
	if op := decode[operationJSON](t, c.want(0, "operations", "get", acc.OperationID, "-o", "json").stdout); op.ID != acc.OperationID {
		t.Errorf("operations get = %+v", op)
	}

	// Usage errors are exit 2, --help exit 0 on stdout.
	for _, args := range [][]string{
		{}, {"bogus"}, {"deployments"}, {"deployments", "create"}, {"deployments", "create", "--app", "mysql"},
		{"deployments", "get"}, {"deployments", "get", "a", "b"}, {"deployments", "get", ""}, {"deployments", "list", "-o", "yaml"},
		{"deployments", "list", "--per-page", "500"}, {"operations", "wait", "x"}, {"deployments", "list", "--nope"},
	} {
		c.want(2, args...)
	}
	for _, args := range [][]string{
		{"--help"}, {"deployments", "--help"}, {"operations", "--help"}, {"deployments", "create", "--help"},
		{"deployments", "list", "-h"}, {"deployments", "get", "--help"}, {"deployments", "delete", "--help"},
		{"operations", "get", "--help"},
	} {
		if r := c.want(0, args...); !strings.Contains(r.stdout, "Usage: onvera") {
			t.Errorf("onvera %s: help not on stdout:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
	noKey := cli{t: t, bin: c.bin, env: []string{"ONVERA_API_URL=" + a.base, "ONVERA_API_KEY="}}
	if r := noKey.want(2, "deployments", "list"); !strings.Contains(r.stderr, "ONVERA_API_KEY") {
		t.Errorf("missing key: %s", r.stderr)
	}

	// API and network errors are exit 1.
	badKey := cli{t: t, bin: c.bin, env: []string{"ONVERA_API_URL=" + a.base, "ONVERA_API_KEY=onv_sk_test_nope"}}
	if r := badKey.want(1, "deployments", "list"); !strings.Contains(r.stderr, "INVALID_API_KEY") {
		t.Errorf("bad key: %s", r.stderr)
	}
	c.want(1, "deployments", "get", "550e8400-e29b-41d4-a716-446655440000")
	down := cli{t: t, bin: c.bin, env: []string{"ONVERA_API_URL=http://127.0.0.1:1", "ONVERA_API_KEY=" + key}}
	down.want(1, "deployments", "list")
}

// TestCLITerminalProgress runs create --wait under a pseudo-terminal (util-linux
// script) and checks the live line: spinner, status and elapsed time redrawn in place.
func TestCLITerminalProgress(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to provide a terminal")
	}
	a := start(t, func(c *config.Config) { c.ProvisionDelay = time.Second })
	key := a.key(t, "org_tty", apikey.AllScopes...)
	bin := buildCLI(t)
	log := filepath.Join(t.TempDir(), "tty.log")
	cmd := exec.Command(script, "-qec", bin+" deployments create --app airflow --wait", log)
	cmd.Env = append(os.Environ(), "ONVERA_API_URL="+a.base, "ONVERA_API_KEY="+key, "NO_COLOR=", "TERM=xterm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("create --wait on a terminal: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	out := string(raw)
	spun := false
	for _, f := range []string{"⠋", "⠙", "⠹", "⠸"} {
		spun = spun || strings.Contains(out, f)
	}
	if !spun || !strings.Contains(out, "\r\x1b[2K") || !strings.Contains(out, "operation succeeded") || !strings.Contains(out, "STATUS:") {
		t.Errorf("terminal output lacks spinner, redraw, status change or result:\n%q", out)
	}
}
