package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/onvera/deployments/pkg/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onvera/deployments/pkg/httpapi"
)

const (
	helloName    = "hello (baseline)"
	sdkFloorName = "reference: DynamoDB+SQS+proxy only (cmd/bench/sdkfloor)"
)

// coldStart: section 3, INIT duration of each bootstrap under aws-lambda-rie
// against a hello-world Go Lambda built the same way, binary sizes, and the
// network requests made during init.
func (b *bench) coldStart(ctx context.Context) error {
	const sec = "3 cold start"
	rie, err := filepath.Abs(b.o.rie)
	if err != nil {
		return err
	}
	if _, err := os.Stat(rie); err != nil {
		return fmt.Errorf("%s: %w (make bench installs it)", rie, err)
	}
	dir, err := os.MkdirTemp("", "bench-lambdas-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The build of `make lambdas`, for this host's architecture (rie runs the
	// binary as a plain process), plus the baseline with the same flags.
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
		"-o", dir+"/", "./functions/...", "./cmd/bench/hello", "./cmd/bench/sdkfloor")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	entries, err := os.ReadDir("functions")
	if err != nil {
		return err
	}
	type fn struct {
		name, bin, event string
		size             int64
		inits            []float64
		rss              []float64 // the bootstrap's peak resident memory after its first invoke, MB
		requests         []string  // what reached the sentinel endpoint, all runs
		handlerCalls     string    // the X-Amz-Target the handler itself is expected to call
	}
	fns := []*fn{
		{name: helloName, bin: filepath.Join(dir, "hello"), event: `{}`},
		{name: sdkFloorName, bin: filepath.Join(dir, "sdkfloor"), event: `{}`},
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		f := &fn{name: e.Name(), bin: filepath.Join(dir, e.Name())}
		switch rt, ok := httpapi.RouteNamed(e.Name()); {
		case ok:
			// No API key: the handler answers 401 (or serves the public
			// document) without any AWS call, so whatever reaches the
			// sentinel endpoint came from init.
			path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.Path, "x")
			f.event = fmt.Sprintf(`{"version":"2.0","routeKey":"%s %s","rawPath":"%s","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"%s","path":"%s","protocol":"HTTP/1.1","sourceIp":"127.0.0.1"},"requestId":"bench","routeKey":"%s %s","stage":"$default"},"isBase64Encoded":false}`,
				rt.Method, rt.Path, path, rt.Method, path, rt.Method, rt.Path)
		case e.Name() == "provisioner":
			f.event = `{"Records":[]}`
		case e.Name() == "reconciler":
			f.event = `{}`
			f.handlerCalls = "DynamoDB_20120810.Query" // its handler's scan for stale operations
		default:
			f.event = `{}`
		}
		fns = append(fns, f)
	}
	for _, f := range fns {
		st, err := os.Stat(f.bin)
		if err != nil {
			return err
		}
		f.size = st.Size()
	}

	sentinel, err := newSentinel()
	if err != nil {
		return err
	}
	defer sentinel.close()
	home, _ := os.MkdirTemp(dir, "home")
	// What Lambda gives a function: region and credentials in the
	// environment, no shared config files. Every AWS endpoint, including the
	// instance metadata service, points at the sentinel so any request is seen.
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LOG_LEVEL=info",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench",
		"AWS_ENDPOINT_URL=" + sentinel.url, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + sentinel.url,
		"AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"ONVERA_TABLE=bench", "ONVERA_QUEUE_URL=" + sentinel.url + "/000000000000/bench",
		"ONVERA_DLQ_URL=" + sentinel.url + "/000000000000/bench-dlq", "ONVERA_DLQ_ARN=arn:aws:sqs:us-east-1:000000000000:bench-dlq",
	}
	progress("cold start: %d binaries × %d rounds", len(fns), b.o.coldRounds)
	for r := 0; r < b.o.coldRounds; r++ {
		// Interleaved, so drift in the machine's load hits every binary alike.
		for _, f := range fns {
			sentinel.reset()
			ms, rss, err := initOnce(ctx, rie, f.bin, f.event, env)
			for try := 1; errors.Is(err, errRieExited) && try < 3; try++ {
				// Its port was taken between FreePort and rie's bind: a
				// new pair of ports, not a result.
				ms, rss, err = initOnce(ctx, rie, f.bin, f.event, env)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			f.inits = append(f.inits, ms)
			f.rss = append(f.rss, rss)
			f.requests = append(f.requests, sentinel.seen()...)
		}
	}
	base := fns[0]
	baseInit := median(base.inits)
	baseRSS := median(base.rss)
	b.info(sec, "hello-world Go Lambda: INIT (median of runs), size, peak RSS", fmt.Sprintf("%.2f ms, %.1f MB, RSS %.1f MB", baseInit, mb(base.size), baseRSS))
	figures := func(f *fn, ratio, m float64) string {
		rss := median(f.rss)
		return fmt.Sprintf("%.2fx (%.2f ms; %.1f MB = %.2fx size; RSS %.1f MB = %.2fx)",
			ratio, m, mb(f.size), float64(f.size)/float64(base.size), rss, rss/baseRSS)
	}
	initNet, handlerNet := 0, 0
	for _, f := range fns[1:] {
		m := median(f.inits)
		// The ratio is paired: each run against the baseline's run of the
		// same round, so a busy second on the shared host inflates both
		// sides of one ratio instead of one side of the medians.
		ratios := make([]float64, len(f.inits))
		for i := range f.inits {
			ratios[i] = f.inits[i] / base.inits[i]
		}
		ratio := median(ratios)
		if f.name == sdkFloorName {
			b.info(sec, f.name+": INIT vs hello", figures(f, ratio, m))
			continue
		}
		b.add(sec, f.name+": INIT vs hello", figures(f, ratio, m), "≤ 1.5x", ratio <= 1.5)
		for _, r := range f.requests {
			if f.handlerCalls != "" && r == f.handlerCalls {
				handlerNet++
			} else {
				initNet++
				b.note("%s made a network request during init: %s", f.name, r)
			}
		}
	}
	b.add(sec, "network requests during init (all binaries, all runs)",
		fmt.Sprintf("%d (the sentinel endpoint did see the reconciler handler's %d Query requests)", initNet, handlerNet), "0", initNet == 0)
	b.note("Cold start: each bootstrap (built like `make lambdas`, for this host's architecture) runs under aws-lambda-rie %d times, interleaved with the hello-world baseline (cmd/bench/hello, same flags), and INIT is rie's `INIT REPORT(durationMs)`: the times shown are medians, the ratio is the median over rounds of each run against the baseline's run in the same round. RSS is the bootstrap's own peak resident memory (VmHWM from /proc) after its first invoke, median of runs: what the function holds at the start of its life, against the baseline's. Every AWS endpoint and the metadata service point at a local sentinel that records each request: route functions are invoked without an API key and the provisioner with an empty batch, so nothing may reach it; the reconciler's own Query (its handler) is expected and not counted.", b.o.coldRounds)
	return nil
}

// errRieExited: rie stopped before answering, typically because the port
// it was given was taken in the meantime.
var errRieExited = errors.New("aws-lambda-rie exited before answering")

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initOnce starts rie on bin, invokes it once and returns rie's INIT duration
// and the bootstrap's peak resident memory in MB (0 where /proc cannot say).
func initOnce(ctx context.Context, rie, bin, event string, env []string) (initMs, rssMB float64, err error) {
	apiPort, err := testenv.FreePort()
	if err != nil {
		return 0, 0, err
	}
	riePort, err := testenv.FreePort()
	if err != nil {
		return 0, 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", riePort)
	cmd := exec.CommandContext(ctx, rie, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		pw.Close()
	}()
	found := make(chan float64, 1)
	var logMu sync.Mutex
	var log strings.Builder
	output := func() string { logMu.Lock(); defer logMu.Unlock(); return log.String() }
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := initReport.FindStringSubmatch(sc.Text()); m != nil {
				v, _ := strconv.ParseFloat(m[1], 64)
				select {
				case found <- v:
				default:
				}
			}
		}
	}()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post(url, "application/json", strings.NewReader(event))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			return 0, 0, fmt.Errorf("%w:\n%s", errRieExited, output())
		default:
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("rie not answering: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rssMB = peakRSS(cmd.Process.Pid, filepath.Base(bin))
	select {
	case v := <-found:
		return v, rssMB, nil
	case <-time.After(5 * time.Second):
		return 0, 0, fmt.Errorf("no INIT REPORT in rie's output:\n%s", output())
	}
}

// peakRSS is VmHWM, in MB, of rie's child process named name (the
// bootstrap), or 0 where /proc cannot say.
func peakRSS(riePID int, name string) float64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		raw, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm is cut to 15 bytes and may hold spaces.
		lp, rp := strings.IndexByte(string(raw), '('), strings.LastIndexByte(string(raw), ')')
		if lp < 0 || rp < lp {
			continue
		}
		comm, rest := string(raw[lp+1:rp]), strings.Fields(string(raw[rp+1:]))
		if len(rest) < 2 || rest[1] != strconv.Itoa(riePID) || !strings.HasPrefix(name, comm) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(st), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 64)
				return v / 1024
			}
		}
	}
	return 0
}

// sentinel is an AWS endpoint that answers every request with a client error
// (not retried by the SDK) and records what was asked.
type sentinel struct {
	url string
	srv *http.Server
	mu  sync.Mutex
	got []string
}

func newSentinel() (*sentinel, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sentinel{url: "http://" + l.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		what := r.Header.Get("X-Amz-Target")
		if what == "" {
			what = r.Method + " " + r.URL.Path
		}
		s.mu.Lock()
		s.got = append(s.got, what)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"bench sentinel"}`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *sentinel) reset() { s.mu.Lock(); s.got = nil; s.mu.Unlock() }
func (s *sentinel) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}
func (s *sentinel) close() { _ = s.srv.Close() }

func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile is the nearest-rank quantile of xs.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
