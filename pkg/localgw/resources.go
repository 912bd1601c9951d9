// Package localgw runs the whole API in one process for local use and tests:
// it creates the table and queues on the configured endpoint, serves every
// route with the Lambdas' handlers, feeds the provisioner from the queue and
// runs the reconciler.
package localgw

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/dynamostore"
)

// Queue settings for local runs. The stack sets its own from the function timeout.
const (
	LocalVisibilityTimeout = 5 // seconds; a failed task is retried this soon
	MaxReceiveCount        = 5 // receives before a task goes to the dead-letter queue
)

// Setup creates (or finds) the table and queues named after cfg.Table and
// fills in cfg's queue URLs and dead-letter ARN. It is idempotent.
func Setup(ctx context.Context, awsCfg aws.Config, cfg *config.Config) error {
	if err := dynamostore.EnsureTable(ctx, dynamodb.NewFromConfig(awsCfg), cfg.Table); err != nil {
		return fmt.Errorf("table %s: %w", cfg.Table, err)
	}
	q := sqs.NewFromConfig(awsCfg)
	dlqName := cfg.Table + "-provisioning-dlq"
	dlqURL, err := ensureQueue(ctx, q, dlqName, map[string]string{
		"MessageRetentionPeriod": "1209600",
	})
	if err != nil {
		return err
	}
	// Only the dead-letter queue's ARN is needed (by the redrive policy and
	// by the provisioner to recognise dead letters).
	a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &dlqURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("queue %s: %w", dlqName, err)
	}
	dlqARN := a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	redrive, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(MaxReceiveCount),
	})
	url, err := ensureQueue(ctx, q, cfg.Table+"-provisioning", map[string]string{
		"VisibilityTimeout": strconv.Itoa(LocalVisibilityTimeout), "RedrivePolicy": string(redrive),
	})
	if err != nil {
		return err
	}
	cfg.QueueURL, cfg.DLQURL, cfg.DLQARN = url, dlqURL, dlqARN
	return nil
}

func ensureQueue(ctx context.Context, q *sqs.Client, name string, attrs map[string]string) (string, error) {
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}
