package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/onvera/deployments/pkg/awsenv"
	"github.com/onvera/deployments/pkg/config"
)

// StartRoute is the whole main of a route's Lambda: build once at init,
// then serve API Gateway v2 (payload 2.0) events for that one route.
func StartRoute(name string) {
	cfg, awsCfg := lambdaConfig()
	h, err := BuildAPI(cfg, awsCfg, lambdaLog()).Route(name)
	if err != nil {
		fatal(err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// StartProvisioner is the whole main of the provisioner Lambda; drivers are
// the optional drivers it may run.
func StartProvisioner(drivers map[string]DriverFactory) {
	cfg, awsCfg := lambdaConfig()
	a, err := Build(cfg, awsCfg, lambdaLog(), drivers)
	if err != nil {
		fatal(err)
	}
	lambda.Start(a.Provisioner.HandleSQS)
}

// StartReconciler is the whole main of the scheduled reconciler Lambda. It
// only re-enqueues, so it needs no driver.
func StartReconciler() {
	cfg, awsCfg := lambdaConfig()
	a := BuildAPI(cfg, awsCfg, lambdaLog())
	p := a.provisioner(nil)
	lambda.Start(func(ctx context.Context) error {
		_, err := p.Reconcile(ctx)
		return err
	})
}

func lambdaConfig() (config.Config, aws.Config) {
	cfg, err := config.Load()
	if err != nil {
		fatal(err)
	}
	awsCfg, err := awsenv.Load()
	if err != nil {
		fatal(err)
	}
	return cfg, awsCfg
}

func lambdaLog() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stderr, nil)) }

// fatal is only for init: a function that cannot configure itself must fail
// its cold start loudly rather than answer requests wrongly.
func fatal(err error) {
	slog.Error("init failed", "err", err)
	os.Exit(1)
}
