package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/client"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// gateway starts an API of the test's own and returns a client with a key of
// org holding scopes.
func gateway(t *testing.T, org string, scopes ...apikey.Scope) (*client.Client, string) {
	t.Helper()
	a := testenv.App(t, nil)
	base := testenv.Gateway(t, a)
	return client.New(base, testenv.Key(t, a.Store, org, scopes...)), base
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := gateway(t, "org_client", apikey.AllScopes...)

	acc, err := c.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: client.Airflow, Name: "Client Test"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.DeploymentID == "" || acc.OperationID == "" || acc.Links.Operation != "/api/v1/operations/"+acc.OperationID {
		t.Fatalf("accepted = %+v", acc)
	}
	var seen []string
	op, err := c.WaitOperation(ctx, acc.OperationID, client.WaitOptions{
		Initial: 50 * time.Millisecond,
		OnUpdate: func(o client.Operation) {
			if len(seen) == 0 || seen[len(seen)-1] != o.Status {
				seen = append(seen, o.Status)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != client.OpSucceeded || op.CompletedAt == nil || op.Type != "create" || op.DeploymentID != acc.DeploymentID {
		t.Fatalf("operation = %+v", op)
	}
	if seen[len(seen)-1] != client.OpSucceeded {
		t.Errorf("OnUpdate saw %v; want it to end with succeeded", seen)
	}
	d, err := c.GetDeployment(ctx, acc.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != client.StatusReady || d.URL == nil || d.Name != "Client Test" || d.EnvironmentID != "env_default" || d.CreatedAt.IsZero() {
		t.Fatalf("deployment = %+v", d)
	}

	del, err := c.DeleteDeployment(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.DeploymentID != d.ID || del.OperationID == acc.OperationID {
		t.Fatalf("delete accepted = %+v", del)
	}
	if op, err = c.WaitOperation(ctx, del.OperationID, client.WaitOptions{Initial: 50 * time.Millisecond}); err != nil || op.Type != "delete" {
		t.Fatalf("delete operation = %+v, %v", op, err)
	}
	_, err = c.DeleteDeployment(ctx, d.ID)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code != client.CodeDeploymentDestroyed || ae.Status != http.StatusConflict || ae.RequestID == "" {
		t.Fatalf("second delete: %#v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reader, base := gateway(t, "org_errors", apikey.ScopeRead)
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"unknown deployment", func() error {
			_, err := reader.GetDeployment(ctx, "550e8400-e29b-41d4-a716-446655440000")
			return err
		}, 404, client.CodeDeploymentNotFound},
		{"unknown operation", func() error {
			_, err := reader.GetOperation(ctx, "op_nope")
			return err
		}, 404, client.CodeOperationNotFound},
		{"missing scope", func() error {
			_, err := reader.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: client.Airflow})
			return err
		}, 403, client.CodeInsufficientScope},
		{"bad key", func() error {
			_, err := client.New(base, "onv_sk_test_nope").ListDeployments(ctx, client.ListOptions{})
			return err
		}, 401, client.CodeInvalidAPIKey},
		{"bad page size", func() error {
			_, err := reader.ListDeployments(ctx, client.ListOptions{PerPage: 101})
			return err
		}, 400, client.CodeInvalidRequest},
	}
	for _, tc := range cases {
		err := tc.call()
		var ae *client.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s: err = %v, want *client.Error", tc.name, err)
			continue
		}
		if ae.Status != tc.status || ae.Code != tc.code || ae.Message == "" || ae.RequestID == "" {
			t.Errorf("%s: got %+v, want %d %s with message and request id", tc.name, ae, tc.status, tc.code)
		}
		if !client.IsCode(err, tc.code) {
			t.Errorf("%s: IsCode(%s) = false", tc.name, tc.code)
		}
	}
	// Unreachable server: a plain network error, not an *Error.
	_, err := client.New("http://127.0.0.1:1", "k").ListDeployments(ctx, client.ListOptions{})
	var ae *client.Error
	if err == nil || errors.As(err, &ae) {
		t.Errorf("unreachable server: err = %v", err)
	}
}

func TestIteratorVisitsEveryPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := gateway(t, "org_iter", apikey.AllScopes...)
	var created []string
	for range 7 {
		acc, err := c.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: client.Superset})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, acc.DeploymentID)
	}
	slices.Reverse(created) // the API lists newest first
	var got []string
	for d, err := range c.Deployments(ctx, 3) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.ID)
	}
	if !slices.Equal(got, created) {
		t.Fatalf("iterated %v, want %v", got, created)
	}
	// Breaking out early stops fetching without error.
	n := 0
	for _, err := range c.Deployments(ctx, 2) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	// An error is yielded, once.
	errs := 0
	for _, err := range client.New("http://127.0.0.1:1", "k").Deployments(ctx, 10) {
		if err == nil {
			t.Fatal("yielded a deployment from nowhere")
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("got %d errors, want 1", errs)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	c, _ := gateway(t, "org_wait", apikey.AllScopes...)
	a := context.Background()
	acc, err := c.CreateDeployment(a, client.CreateDeploymentRequest{AppType: client.Airflow})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(a)
	cancel()
	if _, err := c.WaitOperation(ctx, acc.OperationID, client.WaitOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: err = %v", err)
	}
	// A non-temporary error ends the wait at once.
	if _, err := c.WaitOperation(a, "op_00000000-0000-0000-0000-000000000000", client.WaitOptions{}); !client.IsCode(err, client.CodeOperationNotFound) {
		t.Fatalf("wait on unknown operation: err = %v", err)
	}
	// Temporary errors are retried MaxErrors times, then returned.
	start := time.Now()
	_, err = client.New("http://127.0.0.1:1", "k").WaitOperation(a, acc.OperationID, client.WaitOptions{Initial: 10 * time.Millisecond, MaxErrors: 3})
	if err == nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("wait against a dead server: err = %v after %s; want an error after retries", err, time.Since(start))
	}
}
