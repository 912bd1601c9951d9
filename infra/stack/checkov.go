package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
)

// checkovSkip is one checkov check (https://www.checkov.io) this design
// accepts on every resource of a CloudFormation type, with its reason.
type checkovSkip struct {
	Type, ID, Reason string
}

// checkovSkips are the accepted findings of checkov's CloudFormation checks
// (version pinned in the Makefile), one place for all of them. TestCheckov
// fails on any other finding, on a skip without reason, and on an entry here
// that no longer matches a failing check.
var checkovSkips = []checkovSkip{
	{"AWS::Lambda::Function", "CKV_AWS_115",
		"Concurrency is bounded where work enters: HTTP functions by the API stage's throttling " +
			"(throttleRate/throttleBurst), the provisioner by SQS batching, the reconciler by its one-minute " +
			"schedule. Reserved concurrency would carve capacity out of the account's pool (Lambda refuses to leave " +
			"fewer than 100 unreserved, and a new account's quota of 10 allows no reservation, so the deploy " +
			"fails) and, on the SQS consumer, throttled batches go back to the queue and spend receives toward " +
			"the DLQ."},
	{"AWS::Lambda::Function", "CKV_AWS_116",
		"A function DLQ only catches failed asynchronous invocations. HTTP functions are invoked synchronously " +
			"by API Gateway (the caller gets the error); the provisioner is polled by SQS event sources, whose " +
			"failures return to the queue and, after maxReceiveCount, reach the queue's redrive DLQ (alarmed, " +
			"operation marked failed); the reconciler's scheduled runs are idempotent, a dropped run is redone a " +
			"minute later, and its errors alarm."},
	{"AWS::Lambda::Function", "CKV_AWS_117",
		"The functions call only DynamoDB, SQS, CloudWatch Logs and X-Ray, over TLS with IAM-signed requests " +
			"to their regional endpoints; no resource lives in a VPC. A VPC would add NAT or interface endpoints " +
			"(cost, cold-start ENIs) without narrowing access, which per-function IAM grants already scope."},
	{"AWS::Lambda::Function", "CKV_AWS_173",
		"Lambda encrypts environment variables at rest with its AWS managed key. They hold only resource " +
			"names, queue URLs and settings (pkg/config), never secrets (API keys are stored hashed in the " +
			"table), so a customer managed key would protect nothing more."},
	{"AWS::Logs::LogGroup", "CKV_AWS_158",
		"CloudWatch Logs encrypts every log group at rest. These hold request metadata (ids, routes, status, " +
			"source IP) and no key material (pkg/httpapi TestLogsCarryNoKeyMaterial); a customer managed key " +
			"would add a key policy for the Logs service principal and monthly key cost for no narrower access."},
	{"AWS::DynamoDB::Table", "CKV_AWS_119",
		"Encrypted at rest with the AWS managed key (SSESpecification.SSEEnabled, aws/dynamodb). Only this " +
			"stack's function roles are granted access, each to the few item actions it uses, and API keys are " +
			"stored as SHA-256 hashes; a customer managed key adds key administration and the risk of locking " +
			"the table out without narrowing who can read it."},
	{"AWS::SQS::Queue", "CKV_AWS_27",
		"Encrypted at rest with SSE-SQS (SqsManagedSseEnabled: true), which this CloudFormation check does " +
			"not recognise (it only looks for KmsMasterKeyId). SSE-KMS would give the same at-rest protection " +
			"while adding KMS permissions and requests to every producer and consumer."},
}

// checkovAspect writes the skips into each matching resource's template
// Metadata ({"checkov": {"skip": [{"id", "comment"}]}}), where checkov
// reads them, so the reasons travel with the template and no skip list is
// needed on the command line.
type checkovAspect struct{}

func (*checkovAspect) Visit(node constructs.IConstruct) {
	if !*awscdk.CfnResource_IsCfnResource(node) {
		return
	}
	res := node.(awscdk.CfnResource)
	var skips []map[string]string
	for _, s := range checkovSkips {
		if s.Type == *res.CfnResourceType() {
			skips = append(skips, map[string]string{"id": s.ID, "comment": s.Reason})
		}
	}
	if len(skips) > 0 {
		res.AddMetadata(str("checkov"), map[string]any{"skip": skips})
	}
}

// skipCheckov applies checkovSkips to every resource under scope at synth.
func skipCheckov(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(&checkovAspect{}, nil)
}
