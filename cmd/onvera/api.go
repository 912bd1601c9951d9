package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/onvera/deployments/pkg/client"
)

// exitOperationFailed is the exit code when the API accepted the request but
// the operation it started failed (with --wait).
const exitOperationFailed = 3

// Environment variables the API commands read.
const (
	envAPIURL = "ONVERA_API_URL"
	envAPIKey = "ONVERA_API_KEY"
)

const apiUsage = `
Deployments (talks to the API at ONVERA_API_URL with the key in ONVERA_API_KEY):
  deployments create --app airflow|superset [--name NAME] [--wait]
  deployments list [--all] [--page N] [--per-page N]
  deployments get DEPLOYMENT_ID
  deployments delete DEPLOYMENT_ID [--wait] [--yes]
  operations get OPERATION_ID [--wait]
  Every command takes -o table|json; run one with --help for its flags.

Exit codes: 0 ok, 1 network or API error, 2 usage, 3 the operation failed.
`

// stdin is read for the delete confirmation; tests replace it.
var stdin io.Reader = os.Stdin

// isOperationFailed reports whether err is a failed operation (exit 3).
func isOperationFailed(err error) bool {
	var of *client.OperationFailedError
	return errors.As(err, &of)
}

// apiCmd is what every API command shares: its flags, output and client.
type apiCmd struct {
	fs     *flag.FlagSet
	output *string
	stdout io.Writer
	stderr io.Writer
}

func newAPICmd(name, synopsis, help string, stdout, stderr io.Writer) *apiCmd {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &apiCmd{fs: fs, stdout: stdout, stderr: stderr}
	c.output = fs.String("o", "table", "output format: table or json")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: onvera %s\n\n%s\n\nFlags:\n", synopsis, help)
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nEnvironment: %s (default http://127.0.0.1:8080), %s (required).\n", envAPIURL, envAPIKey)
		fmt.Fprintln(w, "Exit codes: 0 ok, 1 network or API error, 2 usage, 3 the operation failed.")
	}
	return c
}

// parse accepts flags before and after positional arguments, so both
// `get -o json ID` and `get ID -o json` work, and checks the positional count.
func (c *apiCmd) parse(args []string, positional ...string) ([]string, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) && a != "help" {
			c.fs.SetOutput(c.stdout) // asked-for help is output, not an error
			c.fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	var pos []string
	for {
		if err := parse(c.fs, args); err != nil {
			return nil, err
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != len(positional) {
		if len(positional) == 0 {
			return nil, fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, c.fs.Name(), pos)
		}
		return nil, fmt.Errorf("%w: %s needs %s", errUsage, c.fs.Name(), strings.Join(positional, " "))
	}
	for i, p := range pos {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("%w: %s needs %s, got an empty value", errUsage, c.fs.Name(), positional[i])
		}
	}
	if *c.output != "table" && *c.output != "json" {
		return nil, fmt.Errorf("%w: -o must be table or json, not %q", errUsage, *c.output)
	}
	return pos, nil
}

// connect returns the API client and a context that Ctrl-C cancels.
func (c *apiCmd) connect() (*client.Client, context.Context, context.CancelFunc, error) {
	key := os.Getenv(envAPIKey)
	if key == "" {
		return nil, nil, nil, fmt.Errorf("%w: %s is not set (an API key such as onv_sk_test_...; `make run` prints one)", errUsage, envAPIKey)
	}
	base := os.Getenv(envAPIURL)
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, nil, nil, fmt.Errorf("%w: %s must start with http:// or https://, got %q", errUsage, envAPIURL, base)
	}
	cl := client.New(base, key, client.WithUserAgent("onvera-cli"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return cl, ctx, stop, nil
}

func deploymentsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: deployments needs create, list, get or delete", errUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, "Usage: onvera deployments create|list|get|delete [flags]\n"+apiUsage)
		return nil
	}
	switch args[0] {
	case "create":
		return deploymentsCreate(args[1:], stdout, stderr)
	case "list":
		return deploymentsList(args[1:], stdout, stderr)
	case "get":
		return deploymentsGet(args[1:], stdout, stderr)
	case "delete":
		return deploymentsDelete(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown deployments command %q", errUsage, args[0])
}

func operationsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: operations needs get", errUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, "Usage: onvera operations get OPERATION_ID [--wait]\n"+apiUsage)
		return nil
	}
	if args[0] != "get" {
		return fmt.Errorf("%w: unknown operations command %q", errUsage, args[0])
	}
	c := newAPICmd("operations get", "operations get OPERATION_ID [--wait] [-o table|json]",
		"Shows an operation. With --wait, follows it until it succeeds or fails.", stdout, stderr)
	wait := c.fs.Bool("wait", false, "wait until the operation is done, showing progress")
	timeout := c.fs.Duration("timeout", 15*time.Minute, "give up waiting after this long")
	pos, err := c.parse(args[1:], "OPERATION_ID")
	if err != nil {
		return err
	}
	cl, ctx, stop, err := c.connect()
	if err != nil {
		return err
	}
	defer stop()
	show := func(op client.Operation) error { return printOperation(c, op) }
	if *wait {
		return c.waitThenShow(ctx, cl, pos[0], "Operation "+pos[0], *timeout, show)
	}
	op, err := cl.GetOperation(ctx, pos[0])
	if err != nil {
		return err
	}
	return show(op)
}

func deploymentsCreate(args []string, stdout, stderr io.Writer) error {
	c := newAPICmd("deployments create", "deployments create --app airflow|superset [--name NAME] [--wait] [-o table|json]",
		"Creates a deployment. Without --wait it prints the deployment and operation ids at once;\n"+
			"with --wait it follows the operation until the deployment is ready (exit 0) or failed (exit 3).",
		stdout, stderr)
	app := c.fs.String("app", "", "application: airflow or superset (required)")
	name := c.fs.String("name", "", "human-readable name, 1 to 100 characters (default: generated)")
	wait := c.fs.Bool("wait", false, "wait until the deployment is ready, showing progress")
	timeout := c.fs.Duration("timeout", 15*time.Minute, "give up waiting after this long")
	idem := c.fs.String("idempotency-key", "", "Idempotency-Key header, to make a retried create safe")
	if _, err := c.parse(args); err != nil {
		return err
	}
	if *app != client.Airflow && *app != client.Superset {
		return fmt.Errorf("%w: --app must be airflow or superset", errUsage)
	}
	cl, ctx, stop, err := c.connect()
	if err != nil {
		return err
	}
	defer stop()
	acc, err := cl.CreateDeployment(ctx, client.CreateDeploymentRequest{AppType: *app, Name: *name}, idempotency(*idem)...)
	if err != nil {
		return err
	}
	if !*wait {
		return printAccepted(c, acc)
	}
	return c.waitThenShow(ctx, cl, acc.OperationID, "Creating "+*app+" deployment "+acc.DeploymentID, *timeout,
		func(client.Operation) error {
			d, err := cl.GetDeployment(ctx, acc.DeploymentID)
			if err != nil {
				return err
			}
			return printDeployment(c, d)
		})
}

func deploymentsList(args []string, stdout, stderr io.Writer) error {
	c := newAPICmd("deployments list", "deployments list [--all] [--page N] [--per-page N] [-o table|json]",
		"Lists the organization's deployments, newest first: one page, or every page with --all.\n"+
			"-o json prints a JSON array of deployments.", stdout, stderr)
	all := c.fs.Bool("all", false, "list every page")
	page := c.fs.Int("page", 1, "page number, from 1")
	perPage := c.fs.Int("per-page", 50, "deployments per page, 1 to 100")
	if _, err := c.parse(args); err != nil {
		return err
	}
	if *page < 1 || *perPage < 1 || *perPage > 100 {
		return fmt.Errorf("%w: --page must be >= 1 and --per-page between 1 and 100", errUsage)
	}
	cl, ctx, stop, err := c.connect()
	if err != nil {
		return err
	}
	defer stop()
	if *all {
		ds := []client.Deployment{}
		for d, err := range cl.Deployments(ctx, 100) {
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return printDeployments(c, ds, nil)
	}
	p, err := cl.ListDeployments(ctx, client.ListOptions{Page: *page, PerPage: *perPage})
	if err != nil {
		return err
	}
	return printDeployments(c, p.Items, &p.Pagination)
}

func deploymentsGet(args []string, stdout, stderr io.Writer) error {
	c := newAPICmd("deployments get", "deployments get DEPLOYMENT_ID [-o table|json]", "Shows one deployment.", stdout, stderr)
	pos, err := c.parse(args, "DEPLOYMENT_ID")
	if err != nil {
		return err
	}
	cl, ctx, stop, err := c.connect()
	if err != nil {
		return err
	}
	defer stop()
	d, err := cl.GetDeployment(ctx, pos[0])
	if err != nil {
		return err
	}
	return printDeployment(c, d)
}

func deploymentsDelete(args []string, stdout, stderr io.Writer) error {
	c := newAPICmd("deployments delete", "deployments delete DEPLOYMENT_ID [--wait] [--yes] [-o table|json]",
		"Destroys a deployment and everything in it. This cannot be undone. Asks for confirmation on a\n"+
			"terminal unless --yes is given; without a terminal, --yes is required.", stdout, stderr)
	yes := c.fs.Bool("yes", false, "do not ask for confirmation")
	wait := c.fs.Bool("wait", false, "wait until the deployment is destroyed, showing progress")
	timeout := c.fs.Duration("timeout", 15*time.Minute, "give up waiting after this long")
	idem := c.fs.String("idempotency-key", "", "Idempotency-Key header, to make a retried delete safe")
	pos, err := c.parse(args, "DEPLOYMENT_ID")
	if err != nil {
		return err
	}
	cl, ctx, stop, err := c.connect()
	if err != nil {
		return err
	}
	defer stop()
	id := pos[0]
	if !*yes {
		if !isTerminal(stdin) {
			return fmt.Errorf("%w: refusing to destroy %s without --yes when stdin is not a terminal", errUsage, id)
		}
		d, err := cl.GetDeployment(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Destroy %s deployment %q (%s)? This cannot be undone. [y/N] ", d.AppType, d.Name, d.ID)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr, "Not destroyed.")
			return nil
		}
	}
	acc, err := cl.DeleteDeployment(ctx, id, idempotency(*idem)...)
	if err != nil {
		return err
	}
	if !*wait {
		return printAccepted(c, acc)
	}
	return c.waitThenShow(ctx, cl, acc.OperationID, "Destroying deployment "+id, *timeout,
		func(op client.Operation) error { return printOperation(c, op) })
}

// waitThenShow follows an operation with live progress on stderr, then shows
// the outcome, also when the operation failed; the wait's error sets the exit
// code (3 for a failed operation).
func (c *apiCmd) waitThenShow(ctx context.Context, cl *client.Client, opID, what string, timeout time.Duration, show func(client.Operation) error) error {
	op, werr := waitWithProgress(ctx, cl, opID, what, timeout, c.stderr)
	if werr != nil && !isOperationFailed(werr) {
		return werr
	}
	if err := show(op); err != nil {
		return err
	}
	return werr
}

// idempotency is the request option for an --idempotency-key, if one was given.
func idempotency(key string) []client.RequestOption {
	if key == "" {
		return nil
	}
	return []client.RequestOption{client.WithIdempotencyKey(key)}
}

func isHelp(s string) bool { return s == "-h" || s == "--help" || s == "help" || s == "-help" }
