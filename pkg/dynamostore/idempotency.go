package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/deployment"
)

// Idempotency records live beside the organization's other items:
//
//	ORG#<org> / IDEM#<sha256(key)>   state in_flight|done, fingerprint, token,
//	                                 lease_until, expires_at (TTL), result ids
//
// A claim is one conditional PutItem; the request's own transaction flips the
// record to done (conditional on the token), so a committed request is always
// recorded and an uncommitted one never is.

const (
	idemInFlight = "in_flight"
	idemDone     = "done"
)

type idemRecord struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	State        string `dynamodbav:"state"`
	Fingerprint  string `dynamodbav:"fingerprint"`
	Token        string `dynamodbav:"token"`
	LeaseUntil   string `dynamodbav:"lease_until,omitempty"`
	ExpiresAt    int64  `dynamodbav:"expires_at"`
	DeploymentID string `dynamodbav:"deployment_id,omitempty"`
	OperationID  string `dynamodbav:"operation_id,omitempty"`
}

func idemSK(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "IDEM#" + hex.EncodeToString(sum[:])
}

// ClaimIdempotency implements deployment.IdempotencyStore.
func (st *Store) ClaimIdempotency(ctx context.Context, c deployment.Claim, fingerprint string, now time.Time) (*deployment.Accepted, error) {
	for range 3 {
		item, err := attributevalue.MarshalMap(idemRecord{
			PK: orgPK(c.OrgID), SK: idemSK(c.Key), State: idemInFlight, Fingerprint: fingerprint, Token: c.Token,
			LeaseUntil: dueTS(now.Add(deployment.IdempotencyLease)), ExpiresAt: now.Add(deployment.IdempotencyTTL).Unix(),
		})
		if err != nil {
			return nil, err
		}
		// Free when absent, expired (TTL deletion lags by up to two days), or
		// an in-flight claim whose holder died.
		_, err = st.DB.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &st.Table, Item: item,
			ConditionExpression:      aws.String("attribute_not_exists(PK) OR expires_at < :epoch OR (#st = :inflight AND lease_until < :now)"),
			ExpressionAttributeNames: map[string]string{"#st": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":epoch": n(now.Unix()), ":inflight": s(idemInFlight), ":now": s(dueTS(now)),
			},
		})
		if err = conflict(err); !errors.Is(err, deployment.ErrConflict) {
			return nil, err
		}
		var prior idemRecord
		found, err := st.get(ctx, orgPK(c.OrgID), idemSK(c.Key), &prior)
		if err != nil {
			return nil, err
		}
		if !found {
			continue // expired and removed meanwhile: claim again
		}
		switch {
		case prior.Token == c.Token:
			return nil, nil // our own claim, applied but its response lost
		case prior.Fingerprint != fingerprint:
			return nil, apierr.New(apierr.IdempotencyKeyReused,
				"Idempotency-Key was already used with a different request; use a new key for a new request")
		case prior.State == idemDone:
			return &deployment.Accepted{DeploymentID: prior.DeploymentID, OperationID: prior.OperationID}, nil
		default:
			return nil, apierr.New(apierr.Conflict,
				"A request with this Idempotency-Key is still being processed; retry shortly")
		}
	}
	return nil, deployment.ErrConflict
}

// completeIdem is the transaction item that records the result under a claim.
func (st *Store) completeIdem(c deployment.Claim, depID, opID string) types.TransactWriteItem {
	u := st.completeIdemUpdate(c, depID, opID)
	return types.TransactWriteItem{Update: &u}
}

func (st *Store) completeIdemUpdate(c deployment.Claim, depID, opID string) types.Update {
	return types.Update{
		TableName: &st.Table, Key: key(orgPK(c.OrgID), idemSK(c.Key)),
		UpdateExpression:          aws.String("SET #st = :done, deployment_id = :d, operation_id = :o REMOVE lease_until"),
		ConditionExpression:       aws.String("#tok = :tok"),
		ExpressionAttributeNames:  map[string]string{"#st": "state", "#tok": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": s(idemDone), ":d": s(depID), ":o": s(opID), ":tok": s(c.Token)},
	}
}

// CompleteIdempotency implements deployment.IdempotencyStore.
func (st *Store) CompleteIdempotency(ctx context.Context, c deployment.Claim, a deployment.Accepted) error {
	u := st.completeIdemUpdate(c, a.DeploymentID, a.OperationID)
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	return conflict(err)
}

// ReleaseIdempotency implements deployment.IdempotencyStore.
func (st *Store) ReleaseIdempotency(ctx context.Context, c deployment.Claim) error {
	_, err := st.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &st.Table, Key: key(orgPK(c.OrgID), idemSK(c.Key)),
		ConditionExpression:       aws.String("#tok = :tok AND #st = :inflight"),
		ExpressionAttributeNames:  map[string]string{"#tok": "token", "#st": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tok": s(c.Token), ":inflight": s(idemInFlight)},
	})
	if errors.Is(conflict(err), deployment.ErrConflict) {
		return nil // not ours any more: nothing to release
	}
	return err
}
