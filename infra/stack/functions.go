package stack

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/httpapi"
)

// Sizing. Go handlers are small: 256 MB buys twice the CPU share of 128 MB,
// which shortens the cold start (init parses config and builds SDK clients)
// for a fraction of a cent. An HTTP handler makes at most three DynamoDB/SQS
// calls, so 10 s leaves room for SDK retries and stays under API Gateway's
// 30 s integration limit. The provisioner handles a batch of up to
// ProvisionBatchSize tasks sequentially; each task is a few calls.
const (
	FunctionMemoryMB          = 256
	HTTPTimeoutSeconds        = 10
	ProvisionerTimeoutSeconds = 60
	ReconcilerTimeoutSeconds  = 60
	ProvisionBatchSize        = 10
	ProvisionBatchWindowSecs  = 1
)

// Table actions by need. DynamoDB authorizes TransactWriteItems by the
// actions of its parts (here Put and Update), so there is no separate action.
var (
	getItem   = []string{"dynamodb:GetItem"}
	listItems = []string{"dynamodb:GetItem", "dynamodb:Query"}
	// create/delete: GetItem + transactions of Put/Update, and Put/Delete of
	// idempotency records.
	writeItems = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
)

// Access is what one function may do with the table and the queue.
type Access struct {
	Table []string // DynamoDB actions on the table and its indexes
	Send  bool     // sqs:SendMessage on the provisioning queue
}

// RouteAccess is each HTTP function's data access, keyed by route name. Every
// route needs GetItem for the API key lookup. A route missing here fails the
// synth, so a new endpoint cannot ship without deciding its grants.
var RouteAccess = map[string]Access{
	"create-deployment": {Table: writeItems, Send: true},
	"list-deployments":  {Table: listItems},
	"get-deployment":    {Table: getItem},
	"delete-deployment": {Table: writeItems, Send: true},
	"get-operation":     {Table: getItem},
	"get-openapi":       {}, // public, serves the embedded document: no data access
}

// Functions are the HTTP functions, one per route of httpapi.Routes.
type Functions struct {
	constructs.Construct
	ByRoute map[string]awslambda.Function
	All     []awslambda.Function // in route-table order
}

// lambdaFactory builds Go functions that differ only in name, sizing and grants.
type lambdaFactory struct {
	s     Settings
	env   map[string]*string
	table awsdynamodb.Table
	queue awssqs.Queue
}

func newLambdaFactory(s Settings, data *Data, q *Queue) *lambdaFactory {
	env := map[string]*string{
		config.EnvTable:          data.Table.TableName(),
		config.EnvQueueURL:       q.Main.QueueUrl(),
		config.EnvDLQURL:         q.DLQ.QueueUrl(),
		config.EnvDLQARN:         q.DLQ.QueueArn(),
		config.EnvBaseDomain:     str(s.BaseDomain),
		config.EnvDriver:         str(s.Driver),
		config.EnvProvisionDelay: str(s.ProvisionDelay),
		config.EnvStage:          str(s.Stage),
		config.EnvKeyCacheTTL:    str(config.MaxKeyCacheTTL.String()),
	}
	return &lambdaFactory{s: s, env: env, table: data.Table, queue: q.Main}
}

// function declares functions/<name> built by `make lambdas` into
// <assetDir>/<name>/bootstrap, with its own log group and the given access.
func (f *lambdaFactory) function(scope constructs.Construct, name string, timeoutSeconds float64, a Access) awslambda.Function {
	arch, _ := f.s.architecture() // validated in SettingsFromContext
	tracing := awslambda.Tracing_DISABLED
	if f.s.Tracing {
		tracing = awslambda.Tracing_ACTIVE
	}
	c := constructs.NewConstruct(scope, str(name))
	logs := awslogs.NewLogGroup(c, str("Logs"), &awslogs.LogGroupProps{
		Retention:     retention[f.s.LogRetentionDays],
		RemovalPolicy: f.s.removalPolicy(),
	})
	fn := awslambda.NewFunction(c, str("Function"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: arch,
		Handler:      str("bootstrap"),
		Code:         awslambda.Code_FromAsset(str(filepath.Join(f.s.AssetDir, name)), nil),
		MemorySize:   num(FunctionMemoryMB),
		Timeout:      seconds(timeoutSeconds),
		Environment:  &f.env,
		Tracing:      tracing,
		LogGroup:     logs,
		Description:  str("functions/" + name),
	})
	if len(a.Table) > 0 {
		f.table.Grant(fn, *strs(a.Table...)...)
	}
	if a.Send {
		f.queue.GrantSendMessages(fn)
	}
	return fn
}

// NewFunctions declares one function per route.
func NewFunctions(scope constructs.Construct, id string, f *lambdaFactory) *Functions {
	c := constructs.NewConstruct(scope, str(id))
	fs := &Functions{Construct: c, ByRoute: map[string]awslambda.Function{}}
	for _, r := range httpapi.Routes {
		a, ok := RouteAccess[r.Name]
		if !ok {
			panic(fmt.Sprintf("infra: route %q has no entry in RouteAccess", r.Name))
		}
		fn := f.function(c, r.Name, HTTPTimeoutSeconds, a)
		fs.ByRoute[r.Name] = fn
		fs.All = append(fs.All, fn)
	}
	return fs
}
