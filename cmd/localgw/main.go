// Command localgw runs the whole Deployments API in one process against the
// endpoint in AWS_ENDPOINT_URL (MiniStack or LocalStack): it creates the table
// and queues, mints a development API key, serves every route on
// 127.0.0.1:$PORT and runs the provisioner and reconciler. `make run` starts it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/localgw"
	"github.com/onvera/deployments/pkg/provision/cfn"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localgw:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	if err := localgw.Setup(ctx, awsCfg, &cfg); err != nil {
		return fmt.Errorf("setting up table and queues on %s: %w", os.Getenv("AWS_ENDPOINT_URL"), err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	a, err := app.Build(cfg, awsCfg, log, map[string]app.DriverFactory{"cloudformation": cfn.Factory})
	if err != nil {
		return err
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	org := os.Getenv("ONVERA_DEV_ORG")
	if org == "" {
		org = "org_dev"
	}
	secret, _, err := apikey.Mint(ctx, a.Store, org, apikey.AllScopes, apikey.PrefixTest, time.Now())
	if err != nil {
		return fmt.Errorf("minting the development key: %w", err)
	}
	base := "http://" + l.Addr().String()
	fmt.Printf(`
Onvera Deployments API on %s (AWS endpoint %s, table %s)
Development key for organization %s (scopes deployments:read, deployments:write):

  export ONVERA_API_URL=%s ONVERA_API_KEY=%s

  curl -X POST -H "X-API-Key: $ONVERA_API_KEY" -H "Content-Type: application/json" \
    -d '{"app_type": "superset", "name": "My Superset"}' $ONVERA_API_URL/api/v1/deployments

Ctrl-C stops it.
`, base, os.Getenv("AWS_ENDPOINT_URL"), cfg.Table, org, base, secret)
	return (&localgw.Gateway{App: a, Listener: l}).Run(ctx)
}
