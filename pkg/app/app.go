// Package app wires configuration, AWS clients, storage, the service, the
// HTTP server and the provisioner together, once per process. Lambda mains
// and the local gateway build through here. It imports no
// SDK config loader and no optional driver, so a route Lambda links only
// what it runs.
package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/httpapi"
	"github.com/onvera/deployments/pkg/provision"
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
	Queue       *queue.SQS
	Service     *deployment.Service
	Server      *httpapi.Server
	Provisioner *provision.Provisioner // nil from BuildAPI
	Log         *slog.Logger
}

// DriverFactory builds the provisioning driver named by ONVERA_DRIVER.
type DriverFactory func(cfg config.Config, awsCfg aws.Config) (provision.Driver, error)

// Drivers known without extra imports. Others (cfn.Factory) are passed to
// Build by the processes that may run them.
func simulated(cfg config.Config, _ aws.Config) (provision.Driver, error) {
	return provision.Simulated{Delay: cfg.ProvisionDelay, BaseDomain: cfg.BaseDomain}, nil
}

// BuildAPI wires everything the HTTP routes need.
func BuildAPI(cfg config.Config, awsCfg aws.Config, log *slog.Logger) *App {
	a := &App{Config: cfg, AWS: awsCfg, Log: log}
	a.DynamoDB = dynamodb.NewFromConfig(awsCfg)
	a.SQS = sqs.NewFromConfig(awsCfg)
	a.Store = dynamostore.New(a.DynamoDB, cfg.Table)
	a.Queue = &queue.SQS{Client: a.SQS, URL: cfg.QueueURL}
	a.Service = &deployment.Service{Store: a.Store, Queue: a.Queue, Log: log}
	a.Server = &httpapi.Server{
		Service: a.Service,
		Auth:    &apikey.Authenticator{Store: a.Store, TTL: cfg.KeyCacheTTL},
		Log:     log,
	}
	if cfg.RateLimit > 0 {
		a.Server.Limiter = &ratelimit.Limiter{Rate: cfg.RateLimit, Burst: max(cfg.RateBurst, 1)}
	}
	return a
}

// Build wires the routes and the provisioner. drivers adds factories by
// name to the built-in simulated one.
func Build(cfg config.Config, awsCfg aws.Config, log *slog.Logger, drivers ...map[string]DriverFactory) (*App, error) {
	a := BuildAPI(cfg, awsCfg, log)
	factories := map[string]DriverFactory{"simulated": simulated}
	for _, d := range drivers {
		for name, f := range d {
			factories[name] = f
		}
	}
	factory, ok := factories[cfg.Driver]
	if !ok {
		return nil, fmt.Errorf("%s=%q: unknown provisioning driver in this process", config.EnvDriver, cfg.Driver)
	}
	driver, err := factory(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	a.Provisioner = a.provisioner(driver)
	return a, nil
}

// provisioner builds the provisioner around driver (nil for the reconciler,
// which only re-enqueues).
func (a *App) provisioner(driver provision.Driver) *provision.Provisioner {
	return &provision.Provisioner{
		Store: a.Store, Queue: a.Queue, Driver: driver,
		StaleAfter: a.Config.StaleAfter, DLQARN: a.Config.DLQARN, Retry: a.Queue, Log: a.Log,
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
