package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Nag runs the AwsSolutions rule pack over everything under scope at synth.
// Findings become error annotations, which fail `cdk synth`/`cdk deploy` and
// the tests in this package.
func Nag(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: boolean(true)}), nil)
}

// sup is one cdk-nag suppression of rule id, with its reason. appliesTo
// (finding strings or *cdknag.RegexAppliesTo) narrows it to those findings;
// without it the suppression covers every finding of the rule.
func sup(id, reason string, appliesTo ...interface{}) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: str(id), Reason: str(reason)}
	if len(appliesTo) > 0 {
		s.AppliesTo = &appliesTo
	}
	return s
}

// suppressNag records, with reasons, the findings this design accepts. Each
// one is narrowed by appliesTo to the exact policy or resource pattern, so a
// new wildcard or managed policy still fails.
func suppressNag(st awscdk.Stack) {
	cdknag.NagSuppressions_AddStackSuppressions(st, &[]*cdknag.NagPackSuppression{
		sup("AwsSolutions-IAM4",
			"AWSLambdaBasicExecutionRole only lets each function write its own CloudWatch Logs; "+
				"a hand-written copy would be the same three log actions.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
		sup("AwsSolutions-IAM5",
			"X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions; "+
				"AWS requires Resource '*' for them (only present when tracing is on).",
			"Resource::*"),
		sup("AwsSolutions-IAM5",
			"Table.grant adds the table's own indexes (<table>/index/*) next to the table so Query can "+
				"use BySeq and InFlight; the actions stay the few item actions each function uses.",
			&cdknag.RegexAppliesTo{Regex: str(`/^Resource::<DataTable[0-9A-F]+\.Arn>\/index\/\*$/g`)}),
		sup("AwsSolutions-APIG4",
			"Every route but the public OpenAPI document authenticates in the handler with an API key "+
				"(X-API-Key, SHA-256 looked up in the table, scopes checked per route), the same code "+
				"as the local gateway; an API Gateway authorizer would duplicate it and add a Lambda hop."),
	}, nil)
}
