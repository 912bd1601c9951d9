// Package stack is the CDK stack of the Deployments API, one construct per
// concern (data, queue, functions, API, provisioner, alarms).
package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/httpapi"
)

// Stack is the composed system; tests and the e2e read its parts.
type Stack struct {
	awscdk.Stack
	Data        *Data
	Queue       *Queue
	Functions   *Functions
	API         *API
	Provisioner *Provisioner
}

// FunctionNames are all functions/<name> the stack deploys: every route, in
// route-table order, then the provisioner and the reconciler.
func FunctionNames() []string {
	var names []string
	for _, r := range httpapi.Routes {
		names = append(names, r.Name)
	}
	return append(names, ProvisionerName, ReconcilerName)
}

// StackName is "Onvera-<stage>", so stages live side by side in one account.
func StackName(stage string) string { return "Onvera-" + stage }

// Build is what `cdk synth` runs: the settings from app's context, the stack
// composed from them, and cdk-nag over the app. A settings error comes back
// before anything is added to app.
func Build(app awscdk.App) (*Stack, error) {
	s, err := SettingsFromContext(app.Node())
	if err != nil {
		return nil, err
	}
	st := New(app, s)
	Nag(app)
	return st, nil
}

// New composes the stack. Account and region come from the CLI environment
// (CDK_DEFAULT_ACCOUNT/REGION); nothing names a physical resource.
func New(scope constructs.Construct, s Settings) *Stack {
	st := awscdk.NewStack(scope, str(StackName(s.Stage)), &awscdk.StackProps{
		Description: str("Onvera Deployments API, stage " + s.Stage),
		Tags:        &map[string]*string{"project": str("onvera-deployments"), "stage": str(s.Stage)},
	})
	out := &Stack{Stack: st}
	out.Data = NewData(st, "Data", s)
	out.Queue = NewQueue(st, "Queue", s, ProvisionerTimeoutSeconds)
	f := newLambdaFactory(s, out.Data, out.Queue)
	out.Functions = NewFunctions(st, "Functions", f)
	out.API = NewAPI(st, "Api", s, out.Functions)
	out.Provisioner = NewProvisioner(st, "Provisioning", f, out.Queue)

	// In FunctionNames' order: every route, then provisioner and reconciler.
	fns := append(append([]awslambda.Function{}, out.Functions.All...), out.Provisioner.Function, out.Provisioner.Reconciler)
	NewAlarms(st, "Alarms", s, out.Queue, out.API, fns, FunctionNames())
	suppressNag(st)
	skipCheckov(st)

	output := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(st, str(id), &awscdk.CfnOutputProps{Description: str(desc), Value: v})
	}
	output("ApiUrl", "base URL of the API", out.API.URL)
	output("ApiId", "HTTP API id (emulators: /_aws/execute-api/<id>/...)", out.API.HTTPAPI.ApiId())
	output("TableName", "set ONVERA_TABLE to this for `onvera keys create`", out.Data.Table.TableName())
	output("QueueUrl", "provisioning queue", out.Queue.Main.QueueUrl())
	output("DeadLetterQueueUrl", "tasks that exhausted their attempts", out.Queue.DLQ.QueueUrl())
	return out
}
