// Command bench measures what issue 6 budgets, in one run against a MiniStack
// of its own, and prints one table (figure, measured, budget, holds) that it
// also writes to bench/RESULTS.md. `make bench` runs it.
//
// Sections: AWS calls per request (SDK middleware, warm and cold key cache),
// list cost at depth (1k/10k/100k deployments), Lambda cold start under
// aws-lambda-rie against a hello-world baseline, gateway overhead against raw
// DynamoDB calls on the same emulator, and the provisioning pipeline.
// Everything is loopback; figures that matter are ratios taken in the same
// run, because the machine is shared and noisy. Nothing here is a test: it
// asserts nothing, it reports.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/awscount"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/localgw"
	"github.com/onvera/deployments/pkg/testenv"
)

type options struct {
	out         string
	rie         string
	depths      []int
	seedTimeout time.Duration
	latencyN    int
	coldRounds  int
	pipelineN   int
	drainN      int
	only        string
}

func main() {
	var o options
	var depths string
	flag.StringVar(&o.out, "out", "bench/RESULTS.md", "results file (markdown)")
	flag.StringVar(&o.rie, "rie", "bin/aws-lambda-rie", "aws-lambda-rie binary")
	flag.StringVar(&depths, "depths", "1000,10000,100000", "organization sizes for the list-at-depth section")
	flag.DurationVar(&o.seedTimeout, "seed-timeout", 6*time.Minute, "give up seeding an organization after this long and measure what was written")
	flag.IntVar(&o.latencyN, "latency-n", 2000, "requests per latency cell")
	flag.IntVar(&o.coldRounds, "cold-rounds", 25, "cold starts per binary (median taken)")
	flag.IntVar(&o.pipelineN, "pipeline-n", 200, "deployments timed from POST to ready")
	flag.IntVar(&o.drainN, "drain-n", 1000, "queued creates drained")
	flag.StringVar(&o.only, "only", "", "comma-separated sections to run (calls,depth,cold,latency,pipeline); default all")
	flag.Parse()
	for _, f := range strings.Split(depths, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err == nil && n > 0 {
			o.depths = append(o.depths, n)
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	// Always a MiniStack of our own: numbers from a shared endpoint would mix
	// in someone else's load.
	os.Unsetenv("AWS_ENDPOINT_URL")
	// The per-key rate limit (if this tree has one) stays on, its code path
	// included in what is measured, but high enough never to refuse a request.
	os.Setenv("ONVERA_RATE_LIMIT", "1000000")
	start := time.Now()
	stop, err := testenv.Start()
	if err != nil {
		return err
	}
	defer stop()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	// Every client built from awsCfg counts its calls; sections read the
	// counts per request (awscount.WithScope), not the process-wide total.
	(&awscount.Counter{}).Option()(&awsCfg)
	b := &bench{o: o, awsCfg: awsCfg}
	sections := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"calls", b.calls},
		{"depth", b.depth},
		{"cold", b.coldStart},
		{"latency", b.latency},
		{"pipeline", b.pipeline},
	}
	for _, s := range sections {
		if o.only != "" && !strings.Contains(","+o.only+",", ","+s.name+",") {
			continue
		}
		t := time.Now()
		progress("== %s", s.name)
		if err := s.fn(ctx); err != nil {
			// One broken section must not hide the others' figures.
			b.add(s.name, "section failed", err.Error(), "runs", false)
			progress("%s failed: %v", s.name, err)
		}
		progress("== %s done in %s", s.name, time.Since(t).Round(time.Millisecond))
	}
	report := b.render(time.Since(start))
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		progress("wrote %s", o.out)
	}
	return nil
}

type bench struct {
	o      options
	awsCfg aws.Config
	rows   []row
	notes  []string
}

// row is one line of the table; holds is "yes", "no" or "-" (informational).
type row struct {
	section, figure, value, budget, holds string
}

func (b *bench) add(section, figure, value, budget string, holds bool) {
	h := "no"
	if holds {
		h = "yes"
	}
	b.rows = append(b.rows, row{section, figure, value, budget, h})
}

func (b *bench) info(section, figure, value string) {
	b.rows = append(b.rows, row{section, figure, value, "-", "-"})
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) render(took time.Duration) string {
	var sb strings.Builder
	sb.WriteString("# Benchmark results\n\n")
	sb.WriteString("Written by `make bench` (cmd/bench); do not edit by hand. One run, one machine: compare the\n")
	sb.WriteString("ratios, not the absolute times, which move with the load on a shared host.\n\n")
	fmt.Fprintf(&sb, "- run: %s, took %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(&sb, "- host: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&sb, "- emulator: MiniStack %s (from .venv), loopback\n", ministackVersion())
	if c := gitCommit(); c != "" {
		fmt.Fprintf(&sb, "- commit: %s\n", c)
	}
	sb.WriteString("\n| section | figure | measured | budget | holds |\n|---|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", r.section, esc(r.figure), esc(r.value), esc(r.budget), r.holds)
	}
	if len(b.notes) > 0 {
		sb.WriteString("\nNotes:\n\n")
		for _, n := range b.notes {
			sb.WriteString("- " + n + "\n")
		}
	}
	return sb.String()
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func ministackVersion() string {
	out, err := exec.Command(".venv/bin/python", "-c", "import importlib.metadata as m; print(m.version('ministack'))").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// newApp builds the application on a table and queues of its own (named
// after the section), with zero simulated provisioning delay and the calls
// counted.
func (b *bench) newApp(ctx context.Context, name string) (*app.App, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	cfg.Table = fmt.Sprintf("bench-%s-%d", name, time.Now().UnixNano()%1e6)
	cfg.ProvisionDelay = 0
	cfg.StaleAfter = time.Minute
	if err := localgw.Setup(ctx, b.awsCfg, &cfg); err != nil {
		return nil, err
	}
	return app.Build(cfg, b.awsCfg, benchLogger())
}

// benchLogger formats every record as production does (JSON) but throws the
// bytes away, so request logging is paid for without flooding the terminal;
// warnings and errors still reach stderr.
func benchLogger() *slog.Logger {
	return slog.New(teeHandler{
		all:  slog.NewJSONHandler(io.Discard, nil),
		warn: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
	})
}

type teeHandler struct{ all, warn slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.all.Enabled(ctx, l) }
func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.warn.Enabled(ctx, r.Level) {
		_ = h.warn.Handle(ctx, r.Clone())
	}
	return h.all.Handle(ctx, r)
}
func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.all.WithAttrs(as), h.warn.WithAttrs(as)}
}
func (h teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{h.all.WithGroup(g), h.warn.WithGroup(g)}
}

func mintKey(ctx context.Context, a *app.App, org string) (string, error) {
	secret, _, err := apikey.Mint(ctx, a.Store, org, apikey.AllScopes, apikey.PrefixTest, time.Now())
	return secret, err
}

// coldAuth empties the API key cache, as a fresh Lambda execution environment has it.
func coldAuth(a *app.App) {
	a.Server.Auth = &apikey.Authenticator{Store: a.Store, TTL: a.Config.KeyCacheTTL}
}
