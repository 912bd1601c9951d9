// Command onvera is the operator's CLI: API key administration against the
// table directly (keys create|list|revoke), and deployments and operations
// through the public API (see api.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/dynamostore"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the request failed (network, AWS, API)
	exitUsage = 2
)

const usage = `Usage: onvera <command> [flags]

Key administration (talks to DynamoDB at AWS_ENDPOINT_URL or real AWS; table from ONVERA_TABLE):
  keys create --org ORG --scopes deployments:read,deployments:write [--live]
  keys list [--org ORG]
  keys revoke KEY_ID
` + apiUsage

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var err error
	switch args[0] {
	case "keys":
		err = keys(args[1:], stdout, stderr)
	case "deployments":
		err = deploymentsCmd(args[1:], stdout, stderr)
	case "operations":
		err = operationsCmd(args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case isOperationFailed(err):
		fmt.Fprintf(stderr, "onvera: %v\n", err)
		return exitOperationFailed
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "onvera: %v\n\n%s", err, usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "onvera: %v\n", err)
		return exitError
	}
}

func keys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: keys needs create, list or revoke", errUsage)
	}
	ctx := context.Background()
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.String("org", "", "organization id")
	switch args[0] {
	case "create":
		scopes := fs.String("scopes", "", "comma-separated scopes: deployments:read,deployments:write")
		live := fs.Bool("live", false, "mint an onv_sk_live_ key (default onv_sk_test_ unless ONVERA_STAGE is a deployed stage)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		sc, err := apikey.ParseScopes(*scopes)
		if err != nil || *org == "" {
			return fmt.Errorf("%w: keys create needs --org and --scopes (%v)", errUsage, err)
		}
		store, cfg, err := local(ctx)
		if err != nil {
			return err
		}
		prefix := apikey.PrefixTest
		if *live || (cfg.Stage != "local" && cfg.Stage != "test") {
			prefix = apikey.PrefixLive
		}
		secret, k, err := apikey.Mint(ctx, store, *org, sc, prefix, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created key %s for organization %s with scopes %s.\n", k.ID, k.OrgID, joinScopes(k.Scopes))
		fmt.Fprintln(stdout, "Store it now: it cannot be shown again.")
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		store, _, err := local(ctx)
		if err != nil {
			return err
		}
		ks, err := store.ListKeys(ctx, *org)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tORGANIZATION\tSCOPES\tCREATED\tREVOKED")
		for _, k := range ks {
			revoked := "-"
			if !k.Active() {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.OrgID, joinScopes(k.Scopes), k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: keys revoke needs one KEY_ID (see keys list)", errUsage)
		}
		store, _, err := local(ctx)
		if err != nil {
			return err
		}
		k, err := store.RevokeKey(ctx, fs.Arg(0), time.Now())
		if errors.Is(err, apikey.ErrNotFound) {
			return fmt.Errorf("no key with id %s", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked key %s of organization %s; running functions stop accepting it within 60 s.\n", k.ID, k.OrgID)
		return nil
	}
	return fmt.Errorf("%w: unknown keys command %q", errUsage, args[0])
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func joinScopes(s []apikey.Scope) string {
	out := make([]string, len(s))
	for i, sc := range s {
		out[i] = string(sc)
	}
	return strings.Join(out, ",")
}

// local opens the key store with the operator's AWS configuration
// (profiles, SSO and all), as the admin commands need: only the table.
func local(ctx context.Context) (*dynamostore.Store, config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, cfg, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("aws config: %w", err)
	}
	return dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table), cfg, nil
}
