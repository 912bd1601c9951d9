// Package queue sends provisioning tasks to SQS and creates the local queues.
package queue

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/onvera/deployments/pkg/deployment"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQS delivers tasks through one queue.
type SQS struct {
	Client API
	URL    string
}

var _ deployment.Queue = (*SQS)(nil)

// MaxDelay is SQS's longest per-message delay.
const MaxDelay = 15 * time.Minute

// Enqueue sends t, delivered no sooner than delay (rounded up to whole
// seconds, capped at 15 minutes; the provisioner re-checks and re-delays).
func (q *SQS) Enqueue(ctx context.Context, t deployment.Task, delay time.Duration) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	secs := int32((min(delay, MaxDelay) + time.Second - 1) / time.Second)
	_, err = q.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body)), DelaySeconds: secs,
	})
	return err
}

// Backoff bounds for retried tasks: 2 s after the first failure, doubling.
const (
	BackoffBase = 2 * time.Second
	BackoffMax  = 5 * time.Minute
)

// BackoffFor is how long a task that failed on its receives-th delivery waits.
func BackoffFor(receives int) time.Duration {
	d := BackoffBase
	for i := 1; i < receives && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// Backoff delays the redelivery of a failed message (instead of the queue's
// fixed visibility timeout), so a struggling dependency gets room to recover.
func (q *SQS) Backoff(ctx context.Context, receiptHandle string, receives int) error {
	_, err := q.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receiptHandle),
		VisibilityTimeout: int32(BackoffFor(receives) / time.Second),
	})
	return err
}
