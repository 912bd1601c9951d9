package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// StartRoute is the whole main of a route's Lambda: build once at init,
// then serve API Gateway v2 (payload 2.0) events for that one route.
func StartRoute(name string) {
	a := mustNew()
	h, err := a.Route(name)
	if err != nil {
		fatal(err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// StartProvisioner is the whole main of the provisioner Lambda.
func StartProvisioner() {
	lambda.Start(mustNew().Provisioner.HandleSQS)
}

// StartReconciler is the whole main of the scheduled reconciler Lambda.
func StartReconciler() {
	a := mustNew()
	lambda.Start(func(ctx context.Context) error {
		_, err := a.Provisioner.Reconcile(ctx)
		return err
	})
}

func mustNew() *App {
	a, err := New(context.Background())
	if err != nil {
		fatal(err)
	}
	return a
}

// fatal is only for init: a function that cannot configure itself must fail
// its cold start loudly rather than answer requests wrongly.
func fatal(err error) {
	slog.Error("init failed", "err", err)
	os.Exit(1)
}
