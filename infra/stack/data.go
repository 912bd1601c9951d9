package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/onvera/deployments/pkg/dynamostore"
)

// Data is the single table of deployments, operations and API keys. Its keys
// and indexes come from dynamostore's constants, the same ones the local
// setup (dynamostore.CreateTableInput) uses.
type Data struct {
	constructs.Construct
	Table awsdynamodb.Table
}

// NewData declares the table: on-demand, point-in-time recovery, TTL on the
// idempotency records; production stages keep it (RETAIN + deletion
// protection), dev stages remove it with the stack.
func NewData(scope constructs.Construct, id string, s Settings) *Data {
	c := constructs.NewConstruct(scope, str(id))
	key := func(name string, t awsdynamodb.AttributeType) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: str(name), Type: t}
	}
	table := awsdynamodb.NewTable(c, str("Table"), &awsdynamodb.TableProps{
		PartitionKey:        key(dynamostore.AttrPK, awsdynamodb.AttributeType_STRING),
		SortKey:             key(dynamostore.AttrSK, awsdynamodb.AttributeType_STRING),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: str(dynamostore.AttrExpires),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: boolean(true),
		},
		DeletionProtection: boolean(s.Prod),
		RemovalPolicy:      s.removalPolicy(),
	})
	table.AddLocalSecondaryIndex(&awsdynamodb.LocalSecondaryIndexProps{
		IndexName:      str(dynamostore.IndexBySeq),
		SortKey:        key(dynamostore.AttrSeq, awsdynamodb.AttributeType_NUMBER),
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      str(dynamostore.IndexInFlight),
		PartitionKey:   key(dynamostore.AttrDuePK, awsdynamodb.AttributeType_STRING),
		SortKey:        key(dynamostore.AttrDueAt, awsdynamodb.AttributeType_STRING),
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	return &Data{Construct: c, Table: table}
}

func (s Settings) removalPolicy() awscdk.RemovalPolicy {
	if s.Prod {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
