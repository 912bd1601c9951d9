// Package testenv gives integration tests a real AWS-compatible endpoint on
// loopback: AWS_ENDPOINT_URL when it is already set (a LocalStack, say),
// otherwise a MiniStack started from the project's virtualenv on a free port
// and stopped when the tests end.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/localgw"
)

// Main runs a package's tests with an endpoint. Use from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	stop, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// Start makes sure AWS_ENDPOINT_URL names a live endpoint and returns a stop function.
func Start() (stop func(), err error) {
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "test")
	setDefault("AWS_SECRET_ACCESS_KEY", "test")
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		return func() {}, waitHealthy(ep, 5*time.Second)
	}
	e := &Emulator{}
	if err := e.Start(); err != nil {
		return nil, err
	}
	os.Setenv("AWS_ENDPOINT_URL", e.URL())
	return e.Close, nil
}

// Emulator is one MiniStack process. With StateDir set it persists its state
// on a graceful stop and reloads it on start, so a test can restart it.
type Emulator struct {
	Port     int    // chosen on first Start when zero
	StateDir string // enables persistence
	cmd      *exec.Cmd
	logf     *os.File
}

// URL is the emulator's endpoint.
func (e *Emulator) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", e.Port) }

// Start launches MiniStack from the project virtualenv and waits until it is healthy.
func (e *Emulator) Start() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		return fmt.Errorf("no MiniStack: %s missing; run `make test` (it installs MiniStack) or set AWS_ENDPOINT_URL", py)
	}
	if e.Port == 0 {
		if e.Port, err = FreePort(); err != nil {
			return err
		}
	}
	cmd := exec.Command(py, "-m", "ministack")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("GATEWAY_PORT=%d", e.Port), "BIND_HOST=127.0.0.1", "IOT_MTLS_ENABLED=0",
		"AWS_ENDPOINT_URL="+e.URL(), "LOG_LEVEL=WARNING", "SFTP_ENABLED=0")
	if e.StateDir != "" {
		cmd.Env = append(cmd.Env, "PERSIST_STATE=1", "STATE_DIR="+e.StateDir)
	}
	if e.logf == nil {
		e.logf, _ = os.CreateTemp("", "ministack-test-*.log")
	}
	cmd.Stdout, cmd.Stderr = e.logf, e.logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	e.cmd = cmd
	if err := waitHealthy(e.URL(), 30*time.Second); err != nil {
		e.Stop()
		return err
	}
	return nil
}

// Stop ends the process gracefully (so persistence saves), then forcibly.
func (e *Emulator) Stop() {
	if e.cmd == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	e.cmd = nil
}

// Close stops the emulator and removes its log.
func (e *Emulator) Close() {
	e.Stop()
	if e.logf != nil {
		e.logf.Close()
		os.Remove(e.logf.Name())
	}
}

func setDefault(k, v string) {
	if os.Getenv(k) == "" {
		os.Setenv(k, v)
	}
}

func waitHealthy(ep string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(ep + "/_localstack/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("endpoint %s not healthy after %s: %v", ep, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a free TCP port on loopback.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above %s", dir)
		}
		dir = parent
	}
}

// AWSConfig loads the SDK configuration for the test endpoint.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var seq atomic.Int64

// Config returns a configuration with a table and queues of the test's own,
// created on the endpoint, so tests can run in parallel without sharing state.
func Config(t testing.TB, awsCfg aws.Config) config.Config {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	cfg.Table = fmt.Sprintf("t%d-%d-%s", os.Getpid()%100000, seq.Add(1), name)
	cfg.ProvisionDelay = 0
	cfg.StaleAfter = 5 * time.Second
	cfg.RateLimit = 0 // tests hammer one key; TestRateLimit turns it on
	if err := localgw.Setup(context.Background(), awsCfg, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// App builds a wired application on its own table and queues. mutate, if
// given, adjusts the configuration first.
func App(t testing.TB, mutate func(*config.Config)) *app.App {
	t.Helper()
	awsCfg := AWSConfig(t)
	cfg := Config(t, awsCfg)
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.Build(cfg, awsCfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Key mints a test key of org holding exactly scopes in store and returns its secret.
func Key(t testing.TB, store apikey.Store, org string, scopes ...apikey.Scope) string {
	t.Helper()
	secret, _, err := apikey.Mint(context.Background(), store, org, scopes, apikey.PrefixTest, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// Gateway starts a local gateway for a on a free loopback port and returns its base URL.
func Gateway(t testing.TB, a *app.App) string {
	t.Helper()
	base, stop, err := (&localgw.Gateway{App: a, Reconcile: time.Second}).Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return base
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
