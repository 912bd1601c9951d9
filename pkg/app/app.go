// Package app wires configuration, AWS clients, storage, the service, the
// HTTP server and the provisioner together, once per process. Lambda mains,
// the local gateway and the admin CLI all build through here.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/httpapi"
	"github.com/onvera/deployments/pkg/provision"
	"github.com/onvera/deployments/pkg/provision/templates"
	"github.com/onvera/deployments/pkg/queue"
	"github.com/onvera/deployments/pkg/ratelimit"
)

// App is one process's object graph.
type App struct {
	Config      config.Config
	AWS         aws.Config
	DynamoDB    *dynamodb.Client
	SQS         *sqs.Client
	Store       *dynamostore.Store
	Service     *deployment.Service
	Server      *httpapi.Server
	Provisioner *provision.Provisioner
	Log         *slog.Logger
}

// Option adjusts the AWS configuration (tests add fault injection, benchmarks count calls).
type Option func(*aws.Config)

// New loads configuration from the environment and builds the graph. It makes
// no network calls: endpoints come from AWS_ENDPOINT_URL and friends, which
// the SDK reads itself, so the same code reaches AWS, LocalStack or MiniStack.
func New(ctx context.Context, opts ...Option) (*App, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	for _, o := range opts {
		o(&awsCfg)
	}
	return Build(cfg, awsCfg, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
}

// Build wires the graph from explicit configuration.
func Build(cfg config.Config, awsCfg aws.Config, log *slog.Logger) (*App, error) {
	a := &App{Config: cfg, AWS: awsCfg, Log: log}
	a.DynamoDB = dynamodb.NewFromConfig(awsCfg)
	a.SQS = sqs.NewFromConfig(awsCfg)
	a.Store = dynamostore.New(a.DynamoDB, cfg.Table)
	q := &queue.SQS{Client: a.SQS, URL: cfg.QueueURL}
	a.Service = &deployment.Service{Store: a.Store, Queue: q, BaseDomain: cfg.BaseDomain, Log: log}
	a.Server = &httpapi.Server{
		Service: a.Service,
		Auth:    &apikey.Authenticator{Store: a.Store, TTL: cfg.KeyCacheTTL},
		Log:     log,
	}
	if cfg.RateLimit > 0 {
		a.Server.Limiter = &ratelimit.Limiter{Rate: cfg.RateLimit, Burst: max(cfg.RateBurst, 1)}
	}
	driver, err := newDriver(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	a.Provisioner = &provision.Provisioner{
		Store: a.Store, Queue: q, Driver: driver, BaseDomain: cfg.BaseDomain,
		StaleAfter: cfg.StaleAfter, DLQARN: cfg.DLQARN, Retry: q, Log: log,
	}
	return a, nil
}

func newDriver(cfg config.Config, awsCfg aws.Config) (provision.Driver, error) {
	switch cfg.Driver {
	case "simulated":
		return provision.Simulated{Delay: cfg.ProvisionDelay, BaseDomain: cfg.BaseDomain}, nil
	case "cloudformation":
		tpl, err := templates.For()
		if err != nil {
			return nil, err
		}
		return provision.NewCloudFormation(provision.CloudFormation{
			Client: cloudformation.NewFromConfig(awsCfg), Templates: tpl, Parameters: cfg.CFNParameters,
			RoleARN: cfg.CFNRoleARN, BaseDomain: cfg.BaseDomain, Poll: cfg.ProvisionPoll, Timeout: cfg.ProvisionTimeout,
		})
	default:
		return nil, fmt.Errorf("%s=%q: unknown provisioning driver (known: simulated, cloudformation)", config.EnvDriver, cfg.Driver)
	}
}

// Route returns the HTTP handler that serves one named route.
func (a *App) Route(name string) (http.Handler, error) {
	rt, ok := httpapi.RouteNamed(name)
	if !ok {
		return nil, fmt.Errorf("no route named %q", name)
	}
	return a.Server.Handler(rt), nil
}
