package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
)

// Function names under functions/ that are not routes.
const (
	ProvisionerName = "provisioner"
	ReconcilerName  = "reconciler"
)

// ReconcileEveryMinutes is the reconciler's schedule.
const ReconcileEveryMinutes = 1

// Provisioner is the queue consumer and the reconciler that re-enqueues lost tasks.
type Provisioner struct {
	constructs.Construct
	Function   awslambda.Function
	Reconciler awslambda.Function
	Schedule   awsevents.Rule
}

// NewProvisioner wires the provisioner to the main queue and to the DLQ
// (records from the DLQ, recognised by config.EnvDLQARN, end their operation
// as failed), both with batching and partial batch failures, and runs the
// reconciler on a schedule.
func NewProvisioner(scope constructs.Construct, id string, f *lambdaFactory, q *Queue) *Provisioner {
	c := constructs.NewConstruct(scope, str(id))
	// GetItem/UpdateItem for single steps, transactions of Updates to finish an
	// operation; SendMessage to re-deliver an unfinished task with a delay.
	fn := f.function(c, ProvisionerName, ProvisionerTimeoutSeconds, Access{
		Table: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Send: true,
	})
	for _, queue := range []awssqs.IQueue{q.Main, q.DLQ} {
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               num(ProvisionBatchSize),
			MaxBatchingWindow:       seconds(ProvisionBatchWindowSecs),
			ReportBatchItemFailures: boolean(true),
		}))
	}
	// Query on the InFlight index, UpdateItem to move the deadline, SendMessage to re-enqueue.
	rec := f.function(c, ReconcilerName, ReconcilerTimeoutSeconds, Access{
		Table: []string{"dynamodb:Query", "dynamodb:UpdateItem"}, Send: true,
	})
	rule := awsevents.NewRule(c, str("Schedule"), &awsevents.RuleProps{
		Description: str("runs the reconciler"),
		Schedule:    awsevents.Schedule_Rate(minutes(ReconcileEveryMinutes)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(rec, nil)},
	})
	return &Provisioner{Construct: c, Function: fn, Reconciler: rec, Schedule: rule}
}
