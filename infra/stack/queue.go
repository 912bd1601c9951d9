package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/localgw"
)

// Queue is the provisioning queue and its dead-letter queue.
type Queue struct {
	constructs.Construct
	Main awssqs.Queue
	DLQ  awssqs.Queue
}

// NewQueue declares both queues with SSE-SQS and TLS-only policies. The main
// queue's visibility timeout is six times the provisioner's timeout (AWS's
// guidance for Lambda event sources, so a batch is not redelivered while a
// throttled invoke is still retried). A task goes to the DLQ after
// localgw.MaxReceiveCount receives, the same count as local runs; the
// provisioner consumes the DLQ too and marks those operations failed.
func NewQueue(scope constructs.Construct, id string, s Settings, consumerTimeoutSeconds float64) *Queue {
	c := constructs.NewConstruct(scope, str(id))
	dlq := awssqs.NewQueue(c, str("DeadLetters"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        boolean(true),
		RetentionPeriod:   awscdk.Duration_Days(num(14)),
		VisibilityTimeout: seconds(6 * consumerTimeoutSeconds),
		RemovalPolicy:     s.removalPolicy(),
	})
	main := awssqs.NewQueue(c, str("Provisioning"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        boolean(true),
		RetentionPeriod:   awscdk.Duration_Days(num(4)),
		VisibilityTimeout: seconds(6 * consumerTimeoutSeconds),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: num(localgw.MaxReceiveCount)},
		RemovalPolicy:     s.removalPolicy(),
	})
	return &Queue{Construct: c, Main: main, DLQ: dlq}
}
